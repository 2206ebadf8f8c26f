/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "cairn-sieve-message-private.h"
#include "cairn-sieve-parser-private.h"

G_BEGIN_DECLS

/* Where a message goes: a folder (NULL: kept where it is) and the flags
 * it gets there. */
typedef struct
{
  char *folder;
  gboolean create;
  GPtrArray *flags;   /* char *, as the script wrote them */
} CairnSieveTarget;

/* What a script does to one message: no target is a discard. */
typedef struct
{
  GPtrArray *targets; /* CairnSieveTarget * */
} CairnSieveOutcome;

void  cairn_sieve_outcome_free      (CairnSieveOutcome *outcome);
char *cairn_sieve_outcome_to_string (CairnSieveOutcome *outcome);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CairnSieveOutcome, cairn_sieve_outcome_free)

#define CAIRN_TYPE_SIEVE_SCRIPT (cairn_sieve_script_get_type ())
G_DECLARE_FINAL_TYPE (CairnSieveScript, cairn_sieve_script, CAIRN, SIEVE_SCRIPT, GObject)

CairnSieveScript  *cairn_sieve_script_new           (const char         *text,
                                                     gsize               length,
                                                     GError            **error);
CairnSieveScript  *cairn_sieve_script_new_from_file (const char         *path,
                                                     GError            **error);
guint              cairn_sieve_script_get_n_rules   (CairnSieveScript   *self);
CairnSieveOutcome *cairn_sieve_script_run           (CairnSieveScript   *self,
                                                     CairnSieveMessage  *message);

G_END_DECLS
