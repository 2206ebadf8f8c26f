/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_TEST_H_INSIDE__) && !defined (CAIRN_TEST_COMPILATION)
#error "Only <cairn-test/cairn-test.h> can be included directly."
#endif

#include <cairn/cairn.h>

G_BEGIN_DECLS

/**
 * CairnTestEnvironmentFlags:
 * @CAIRN_TEST_ENVIRONMENT_NONE: folders and a private session bus only
 * @CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE: also run gnome-keyring's Secret
 *   Service on the bus, with an unlocked default collection
 *
 * What a #CairnTestEnvironment starts.
 *
 * Since: 0.1
 */
typedef enum /*< flags >*/
{
  CAIRN_TEST_ENVIRONMENT_NONE = 0,
  CAIRN_TEST_ENVIRONMENT_SECRET_SERVICE = 1 << 0,
} CairnTestEnvironmentFlags;

#define CAIRN_TYPE_TEST_ENVIRONMENT (cairn_test_environment_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnTestEnvironment, cairn_test_environment, CAIRN, TEST_ENVIRONMENT,
                      GObject)

CAIRN_AVAILABLE_IN_ALL
CairnTestEnvironment *cairn_test_environment_new             (CairnTestEnvironmentFlags   flags,
                                                              GError                    **error);
CAIRN_AVAILABLE_IN_ALL
const char           *cairn_test_environment_get_path        (CairnTestEnvironment       *self);
CAIRN_AVAILABLE_IN_ALL
const char           *cairn_test_environment_get_store_path  (CairnTestEnvironment       *self);
CAIRN_AVAILABLE_IN_ALL
const char           *cairn_test_environment_get_bus_address (CairnTestEnvironment       *self);
CAIRN_AVAILABLE_IN_ALL
CairnStore           *cairn_test_environment_open_store      (CairnTestEnvironment       *self,
                                                              GError                    **error);
CAIRN_AVAILABLE_IN_ALL
gboolean              cairn_test_environment_lock_secrets    (CairnTestEnvironment       *self,
                                                              GError                    **error);
CAIRN_AVAILABLE_IN_ALL
gboolean              cairn_test_environment_unlock_secrets  (CairnTestEnvironment       *self,
                                                              GError                    **error);
CAIRN_AVAILABLE_IN_ALL
void                  cairn_test_environment_stop            (CairnTestEnvironment       *self);

G_END_DECLS
