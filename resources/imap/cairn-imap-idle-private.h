/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cairn-imap-connection-private.h"

G_BEGIN_DECLS

/* Called in the main context when the watched mailbox may have changed:
 * after each (re)connection, with the UIDVALIDITY and HIGHESTMODSEQ that
 * SELECT gave (HIGHESTMODSEQ 0 without CONDSTORE), and each time the
 * server reports something during IDLE, with 0 and 0. */
typedef void (*CairnImapIdleFunc) (GObject    *owner,
                                   const char *mailbox,
                                   guint32     uidvalidity,
                                   guint64     highestmodseq);

typedef struct _CairnImapIdle CairnImapIdle;

CairnImapIdle *cairn_imap_idle_new  (const CairnImapSettings *settings,
                                     const char              *mailbox,
                                     GObject                 *owner,
                                     CairnImapIdleFunc        func);
void           cairn_imap_idle_free (CairnImapIdle           *idle);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnImapIdle, cairn_imap_idle_free)

G_END_DECLS
