/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_TEST_H_INSIDE__) && !defined (CAIRN_TEST_COMPILATION)
#error "Only <cairn-test/cairn-test.h> can be included directly."
#endif

#include <cairn/cairn.h>

#include "cairn-test-environment.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_TEST_CONTROL (cairn_test_control_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnTestControl, cairn_test_control, CAIRN, TEST_CONTROL, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnTestControl     *cairn_test_control_new             (CairnTestEnvironment  *environment,
                                                          const char * const    *options,
                                                          GError               **error);
CAIRN_AVAILABLE_IN_ALL
CairnTestEnvironment *cairn_test_control_get_environment (CairnTestControl      *self);
CAIRN_AVAILABLE_IN_ALL
gboolean              cairn_test_control_start           (CairnTestControl      *self,
                                                          GError               **error);
CAIRN_AVAILABLE_IN_ALL
gboolean              cairn_test_control_is_running      (CairnTestControl      *self);
CAIRN_AVAILABLE_IN_ALL
gboolean              cairn_test_control_stop            (CairnTestControl      *self,
                                                          GError               **error);
CAIRN_AVAILABLE_IN_ALL
gboolean              cairn_test_control_kill            (CairnTestControl      *self,
                                                          GError               **error);
CAIRN_AVAILABLE_IN_ALL
GVariant             *cairn_test_control_call_sync       (CairnTestControl      *self,
                                                          const char            *method,
                                                          GVariant              *parameters,
                                                          const GVariantType    *reply_type,
                                                          GError               **error);
CAIRN_AVAILABLE_IN_ALL
char                 *cairn_test_control_create_instance (CairnTestControl      *self,
                                                          const char            *type_id,
                                                          const char * const    *config,
                                                          GError               **error);

G_END_DECLS
