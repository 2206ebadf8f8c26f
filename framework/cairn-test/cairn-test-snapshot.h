/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_TEST_H_INSIDE__) && !defined (CAIRN_TEST_COMPILATION)
#error "Only <cairn-test/cairn-test.h> can be included directly."
#endif

#include <cairn/cairn.h>

G_BEGIN_DECLS

/**
 * CairnTestSnapshotCompare:
 * @CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT: folders and the contents of the
 *   items in each
 * @CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS: the items' flags as well
 * @CAIRN_TEST_SNAPSHOT_COMPARE_NAMES: the items' names as well, where both
 *   sides know one
 *
 * What cairn_test_snapshot_compare() compares.
 *
 * Since: 0.1
 */
typedef enum /*< flags >*/
{
  CAIRN_TEST_SNAPSHOT_COMPARE_CONTENT = 0,
  CAIRN_TEST_SNAPSHOT_COMPARE_FLAGS = 1 << 0,
  CAIRN_TEST_SNAPSHOT_COMPARE_NAMES = 1 << 1,
} CairnTestSnapshotCompare;

#define CAIRN_TYPE_TEST_SNAPSHOT (cairn_test_snapshot_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnTestSnapshot, cairn_test_snapshot, CAIRN, TEST_SNAPSHOT, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnTestSnapshot *cairn_test_snapshot_new          (void);
CAIRN_AVAILABLE_IN_ALL
void               cairn_test_snapshot_add_folder   (CairnTestSnapshot        *self,
                                                     const char               *folder);
CAIRN_AVAILABLE_IN_ALL
void               cairn_test_snapshot_add_item     (CairnTestSnapshot        *self,
                                                     const char               *folder,
                                                     const char               *name,
                                                     GBytes                   *content,
                                                     const CairnFlags         *flags);
CAIRN_AVAILABLE_IN_ALL
guint              cairn_test_snapshot_get_n_items  (CairnTestSnapshot        *self);
CAIRN_AVAILABLE_IN_ALL
gboolean           cairn_test_snapshot_has_folder   (CairnTestSnapshot        *self,
                                                     const char               *folder);
CAIRN_AVAILABLE_IN_ALL
guint              cairn_test_snapshot_count_items  (CairnTestSnapshot        *self,
                                                     const char               *folder,
                                                     GBytes                   *content);
CAIRN_AVAILABLE_IN_ALL
char              *cairn_test_snapshot_compare      (CairnTestSnapshot        *self,
                                                     const char               *label,
                                                     CairnTestSnapshot        *other,
                                                     const char               *other_label,
                                                     CairnTestSnapshotCompare  what);
CAIRN_AVAILABLE_IN_ALL
CairnTestSnapshot *cairn_test_snapshot_new_from_store (CairnStore             *store,
                                                       const char             *resource,
                                                       const char             *part,
                                                       GError                **error);

G_END_DECLS
