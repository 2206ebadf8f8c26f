/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (__CAIRN_H_INSIDE__) && !defined (CAIRN_COMPILATION)
#error "Only <cairn/cairn.h> can be included directly."
#endif

#include "cairn-monitor.h"

G_BEGIN_DECLS

#define CAIRN_TYPE_CHANGE_RECORDER (cairn_change_recorder_get_type ())

CAIRN_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CairnChangeRecorder, cairn_change_recorder, CAIRN, CHANGE_RECORDER,
                      CairnMonitor)

CAIRN_AVAILABLE_IN_ALL
CairnChangeRecorder *cairn_change_recorder_new               (CairnStore           *store,
                                                              const char           *name,
                                                              GError              **error);
CAIRN_AVAILABLE_IN_ALL
const char          *cairn_change_recorder_get_name          (CairnChangeRecorder  *self);
CAIRN_AVAILABLE_IN_ALL
void                 cairn_change_recorder_change_processed  (CairnChangeRecorder  *self);
CAIRN_AVAILABLE_IN_ALL
gboolean             cairn_change_recorder_get_pending_count (CairnChangeRecorder  *self,
                                                              guint64              *count,
                                                              GError              **error);

G_END_DECLS
