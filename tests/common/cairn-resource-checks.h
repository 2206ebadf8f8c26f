/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cairn-test/cairn-test.h>

/* Shortcuts for the suites that run one resource through the test kit:
 * each fails the running Check test on any error, so that a suite's own
 * helpers stay one line long. */

CairnTestResource *cairn_check_start_resource    (CairnTestEnvironment   *environment,
                                                  const char             *type,
                                                  const char             *id,
                                                  const char * const     *config,
                                                  CairnTestResourceMode   mode,
                                                  guint                   wait_ms,
                                                  CairnStore            **client);
void               cairn_check_wait_replayed     (CairnTestResource      *resource,
                                                  guint                   wait_ms);
void               cairn_check_synchronize       (CairnTestResource      *resource);
void               cairn_check_set_online        (CairnTestResource      *resource,
                                                  gboolean                online);
CairnCollection   *cairn_check_find_collection   (CairnStore             *client,
                                                  const char             *resource_id,
                                                  const char             *remote_id);
guint64            cairn_check_collection_id     (CairnStore             *client,
                                                  const char             *resource_id,
                                                  const char             *remote_id);
CairnItem         *cairn_check_find_item         (CairnStore             *client,
                                                  guint64                 collection_id,
                                                  const char             *remote_id);
