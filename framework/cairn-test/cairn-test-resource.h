/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_TEST_H_INSIDE__) && !defined (CAIRN_TEST_COMPILATION)
#error "Only <cairn-test/cairn-test.h> can be included directly."
#endif

#include <cairn/cairn.h>

#include "cairn-test-control.h"
#include "cairn-test-environment.h"

G_BEGIN_DECLS

/**
 * CairnTestResourceMode:
 * @CAIRN_TEST_RESOURCE_IN_PROCESS: the resource runs in the test's process
 *   and main context
 * @CAIRN_TEST_RESOURCE_PROCESS: the resource runs in its own
 *   cairn-agent-host process, which can be killed
 * @CAIRN_TEST_RESOURCE_CONTROL: the resource runs in a cairn-agent-host
 *   that a #CairnTestControl's service supervises (Since: 0.1)
 *
 * Where a #CairnTestResource runs its resource.
 *
 * Since: 0.1
 */
typedef enum
{
  CAIRN_TEST_RESOURCE_IN_PROCESS,
  CAIRN_TEST_RESOURCE_PROCESS,
  CAIRN_TEST_RESOURCE_CONTROL,
} CairnTestResourceMode;

#define CAIRN_TYPE_TEST_RESOURCE (cairn_test_resource_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnTestResource, cairn_test_resource, CAIRN, TEST_RESOURCE, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnTestResource *cairn_test_resource_new               (CairnTestEnvironment   *environment,
                                                          const char             *type_id,
                                                          const char             *instance_id,
                                                          const char * const     *config,
                                                          GError                **error);
CAIRN_AVAILABLE_IN_ALL
CairnTestResource *cairn_test_resource_new_for_control   (CairnTestControl       *control,
                                                          const char             *type_id,
                                                          const char * const     *config,
                                                          GError                **error);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_resource_start             (CairnTestResource      *self,
                                                          CairnTestResourceMode   mode,
                                                          GType                   type,
                                                          GError                **error);
CAIRN_AVAILABLE_IN_ALL
const char        *cairn_test_resource_get_id            (CairnTestResource      *self);
CAIRN_AVAILABLE_IN_ALL
CairnTestResourceMode cairn_test_resource_get_mode       (CairnTestResource      *self);
CAIRN_AVAILABLE_IN_ALL
GPid               cairn_test_resource_get_pid           (CairnTestResource      *self);
CAIRN_AVAILABLE_IN_ALL
CairnTestControl  *cairn_test_resource_get_control       (CairnTestResource      *self);
CAIRN_AVAILABLE_IN_ALL
CairnResource     *cairn_test_resource_get_resource      (CairnTestResource      *self);
CAIRN_AVAILABLE_IN_ALL
CairnStore        *cairn_test_resource_open_client_store (CairnTestResource      *self,
                                                          GError                **error);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_resource_set_online        (CairnTestResource      *self,
                                                          gboolean                online,
                                                          GError                **error);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_resource_synchronize_sync  (CairnTestResource      *self,
                                                          guint64                 collection_id,
                                                          GError                **error);
CAIRN_AVAILABLE_IN_ALL
GVariant          *cairn_test_resource_call_sync         (CairnTestResource      *self,
                                                          const char             *interface_name,
                                                          const char             *method,
                                                          GVariant               *parameters,
                                                          const GVariantType     *reply_type,
                                                          GError                **error);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_resource_wait_replayed     (CairnTestResource      *self,
                                                          guint                   timeout_ms,
                                                          GError                **error);
CAIRN_AVAILABLE_IN_ALL
void               cairn_test_resource_kill              (CairnTestResource      *self);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_resource_restart           (CairnTestResource      *self,
                                                          GError                **error);
CAIRN_AVAILABLE_IN_ALL
void               cairn_test_resource_stop              (CairnTestResource      *self);

G_END_DECLS
