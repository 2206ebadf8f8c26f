/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_TEST_H_INSIDE__) && !defined (CAIRN_TEST_COMPILATION)
#error "Only <cairn-test/cairn-test.h> can be included directly."
#endif

#include <cairn/cairn.h>

#include "cairn-test-backend.h"
#include "cairn-test-resource.h"

G_BEGIN_DECLS

/**
 * CairnTestReplayFeatures:
 * @CAIRN_TEST_REPLAY_FEATURES_NONE: items are created, modified, moved and
 *   deleted, top-level folders created and deleted
 * @CAIRN_TEST_REPLAY_FEATURES_FLAGS: the backend keeps flags: flag changes
 *   are made and compared
 * @CAIRN_TEST_REPLAY_FEATURES_RENAME_FOLDERS: folders are renamed
 * @CAIRN_TEST_REPLAY_FEATURES_MOVE_FOLDERS: folders are moved
 * @CAIRN_TEST_REPLAY_FEATURES_NESTED_FOLDERS: folders are created inside
 *   the folders the test created
 * @CAIRN_TEST_REPLAY_FEATURES_ICALENDAR: items are iCalendar events
 *   rather than mail-like text, written as Python's vobject (Radicale)
 *   writes them, so that a server storing them anew keeps their bytes
 *   (Since: 0.1)
 * @CAIRN_TEST_REPLAY_FEATURES_CRLF: lines of mail-like items end in CRLF,
 *   as an IMAP server gives a message back whatever it stores (Since: 0.1)
 * @CAIRN_TEST_REPLAY_FEATURES_FOLLOW_MOVED: a local move or edit replayed
 *   after another program filed the item elsewhere finds it there: the
 *   move takes it, the edit replaces it with the new content in the
 *   item's folder. The test then has another program move local items
 *   whose moves or edits are not replayed yet (Since: 0.1)
 *
 * What the resource under test replays, and so what a #CairnTestReplay
 * does. A change a resource has no callback for becomes a failed change;
 * the model expects none, so it makes only the changes listed here.
 *
 * Since: 0.1
 */
typedef enum /*< flags >*/
{
  CAIRN_TEST_REPLAY_FEATURES_NONE = 0,
  CAIRN_TEST_REPLAY_FEATURES_FLAGS = 1 << 0,
  CAIRN_TEST_REPLAY_FEATURES_RENAME_FOLDERS = 1 << 1,
  CAIRN_TEST_REPLAY_FEATURES_MOVE_FOLDERS = 1 << 2,
  CAIRN_TEST_REPLAY_FEATURES_NESTED_FOLDERS = 1 << 3,
  CAIRN_TEST_REPLAY_FEATURES_ICALENDAR = 1 << 4,
  CAIRN_TEST_REPLAY_FEATURES_CRLF = 1 << 5,
  CAIRN_TEST_REPLAY_FEATURES_FOLLOW_MOVED = 1 << 6,
} CairnTestReplayFeatures;

#define CAIRN_TYPE_TEST_REPLAY (cairn_test_replay_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnTestReplay, cairn_test_replay, CAIRN, TEST_REPLAY, GObject)

CAIRN_AVAILABLE_IN_ALL
CairnTestReplay *cairn_test_replay_new                (CairnTestResource        *resource,
                                                       CairnTestBackend         *backend,
                                                       const char               *mime_type,
                                                       const char               *part,
                                                       CairnTestReplayFeatures   features);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_test_replay_run                (CairnTestReplay          *self,
                                                       guint32                   seed,
                                                       guint                     n_operations,
                                                       GError                  **error);
CAIRN_AVAILABLE_IN_ALL
gboolean         cairn_test_replay_check_backend      (CairnTestResource        *resource,
                                                       CairnTestBackend         *backend,
                                                       const char               *part,
                                                       CairnTestSnapshotCompare  what,
                                                       GError                  **error);

CAIRN_AVAILABLE_IN_ALL
GArray          *cairn_test_replay_get_seeds          (const guint32            *defaults,
                                                       gsize                     n_defaults);
CAIRN_AVAILABLE_IN_ALL
guint            cairn_test_replay_get_n_operations   (guint                     n_default);
CAIRN_AVAILABLE_IN_ALL
GBytes          *cairn_test_replay_make_content       (guint32                   seed,
                                                       guint                     item,
                                                       guint                     version,
                                                       gsize                     size);

G_END_DECLS
