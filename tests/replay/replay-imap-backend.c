/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IMAP resource's backend as CairnTestReplay sees it: the mailboxes
 * of one Dovecot account, read and written by another IMAP client (this
 * one, on libetpan, over the plain loopback port), a session for each
 * call. Folders are the mailbox names with `/` for the delimiter (the
 * paths of the names the store shows), items the messages, named by UID
 * (the resource's remote ids), with the bytes and flags the server gives
 * (\Recent left out). */
#include <string.h>
#include <libetpan/libetpan.h>

#include "replay-imap-backend.h"

struct _ReplayImapBackend
{
  GObject parent_instance;

  guint16 port;
  char *user;
  char *password;
};

static void replay_imap_backend_iface_init (CairnTestBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ReplayImapBackend, replay_imap_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_TEST_BACKEND,
                                                      replay_imap_backend_iface_init))

static const struct
{
  int type;
  const char *flag;
} system_flags[] = {
  { MAILIMAP_FLAG_ANSWERED, CAIRN_FLAG_ANSWERED },
  { MAILIMAP_FLAG_FLAGGED, CAIRN_FLAG_FLAGGED },
  { MAILIMAP_FLAG_DELETED, CAIRN_FLAG_DELETED },
  { MAILIMAP_FLAG_SEEN, CAIRN_FLAG_SEEN },
  { MAILIMAP_FLAG_DRAFT, CAIRN_FLAG_DRAFT },
};

static void
replay_imap_backend_finalize (GObject *object)
{
  ReplayImapBackend *self = REPLAY_IMAP_BACKEND (object);

  g_free (self->user);
  g_free (self->password);
  G_OBJECT_CLASS (replay_imap_backend_parent_class)->finalize (object);
}

static void
replay_imap_backend_class_init (ReplayImapBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = replay_imap_backend_finalize;
}

static void
replay_imap_backend_init (ReplayImapBackend *self)
{
}

static gboolean
check (int          r,
       const char  *what,
       GError     **error)
{
  if (r == MAILIMAP_NO_ERROR || r == MAILIMAP_NO_ERROR_AUTHENTICATED ||
      r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "IMAP %s failed (libetpan error %d)", what,
               r);
  return FALSE;
}

static void
session_free (mailimap *session)
{
  mailimap_logout (session);
  mailimap_free (session);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (mailimap, session_free)

static mailimap *
session_new (ReplayImapBackend  *self,
             GError            **error)
{
  g_autoptr(mailimap) session = mailimap_new (0, NULL);

  if (!check (mailimap_socket_connect (session, "127.0.0.1", self->port), "connect", error) ||
      !check (mailimap_login (session, self->user, self->password), "LOGIN", error))
    return NULL;
  return g_steal_pointer (&session);
}

/* A folder path ("INBOX/f1") as the mailbox name ("INBOX.f1"). */
static char *
mailbox_of (const char *folder,
            char        delimiter)
{
  char *mailbox = g_strdup (folder);

  g_strdelimit (mailbox, "/", delimiter);
  return mailbox;
}

static char
delimiter_of (mailimap  *session,
              GError   **error)
{
  clist *result = NULL;
  char delimiter = '/';

  if (!check (mailimap_list (session, "", "", &result), "LIST", error))
    return 0;
  if (result != NULL && clist_begin (result) != NULL)
    {
      struct mailimap_mailbox_list *list = clist_content (clist_begin (result));

      if (list->mb_delimiter != 0)
        delimiter = list->mb_delimiter;
    }
  if (result != NULL)
    mailimap_list_result_free (result);
  return delimiter;
}

static CairnFlags *
flags_of (struct mailimap_msg_att_dynamic *dynamic)
{
  CairnFlags *flags = cairn_flags_new ();

  for (clistiter *cur = dynamic && dynamic->att_list ? clist_begin (dynamic->att_list) : NULL;
       cur != NULL; cur = clist_next (cur))
    {
      struct mailimap_flag_fetch *fetched = clist_content (cur);

      if (fetched->fl_type != MAILIMAP_FLAG_FETCH_OTHER || fetched->fl_flag == NULL)
        continue;
      if (fetched->fl_flag->fl_type == MAILIMAP_FLAG_KEYWORD)
        cairn_flags_add (flags, fetched->fl_flag->fl_data.fl_keyword);
      for (guint i = 0; i < G_N_ELEMENTS (system_flags); i++)
        if (fetched->fl_flag->fl_type == system_flags[i].type)
          cairn_flags_add (flags, system_flags[i].flag);
    }
  return flags;
}

static gboolean
read_messages (mailimap           *session,
               const char         *mailbox,
               const char         *folder,
               CairnTestSnapshot  *snapshot,
               GError            **error)
{
  struct mailimap_fetch_type *type = mailimap_fetch_type_new_fetch_att_list_empty ();
  struct mailimap_set *set = mailimap_set_new_interval (1, 0);
  clist *result = NULL;
  int r;

  cairn_test_snapshot_add_folder (snapshot, folder);
  if (!check (mailimap_examine (session, mailbox), "EXAMINE", error))
    {
      mailimap_fetch_type_free (type);
      mailimap_set_free (set);
      return FALSE;
    }
  if (session->imap_selection_info->sel_exists == 0)
    {
      mailimap_fetch_type_free (type);
      mailimap_set_free (set);
      return TRUE;
    }
  mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_uid ());
  mailimap_fetch_type_new_fetch_att_list_add (type, mailimap_fetch_att_new_flags ());
  mailimap_fetch_type_new_fetch_att_list_add (
    type, mailimap_fetch_att_new_body_peek_section (mailimap_section_new (NULL)));
  r = mailimap_uid_fetch (session, set, type, &result);
  mailimap_fetch_type_free (type);
  mailimap_set_free (set);
  if (!check (r, "UID FETCH", error))
    return FALSE;
  for (clistiter *cur = clist_begin (result); cur != NULL; cur = clist_next (cur))
    {
      struct mailimap_msg_att *att = clist_content (cur);
      g_autoptr(CairnFlags) flags = NULL;
      g_autoptr(GBytes) content = NULL;
      g_autofree char *name = NULL;

      for (clistiter *i = clist_begin (att->att_list); i != NULL; i = clist_next (i))
        {
          struct mailimap_msg_att_item *item = clist_content (i);
          struct mailimap_msg_att_static *fixed = item->att_data.att_static;

          if (item->att_type == MAILIMAP_MSG_ATT_ITEM_DYNAMIC)
            flags = flags_of (item->att_data.att_dyn);
          else if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC || fixed == NULL)
            continue;
          else if (fixed->att_type == MAILIMAP_MSG_ATT_UID)
            name = g_strdup_printf ("%u", fixed->att_data.att_uid);
          else if (fixed->att_type == MAILIMAP_MSG_ATT_BODY_SECTION)
            content = g_bytes_new (fixed->att_data.att_body_section->sec_body_part,
                                   fixed->att_data.att_body_section->sec_length);
        }
      if (name != NULL && content != NULL)
        cairn_test_snapshot_add_item (snapshot, folder, name, content, flags);
    }
  mailimap_fetch_list_free (result);
  return TRUE;
}

static CairnTestSnapshot *
imap_read (CairnTestBackend  *backend,
           GError           **error)
{
  g_autoptr(mailimap) session = session_new (REPLAY_IMAP_BACKEND (backend), error);
  g_autoptr(CairnTestSnapshot) snapshot = cairn_test_snapshot_new ();
  clist *result = NULL;
  gboolean ok = TRUE;

  if (session == NULL || !check (mailimap_list (session, "", "*", &result), "LIST", error))
    return NULL;
  for (clistiter *cur = result ? clist_begin (result) : NULL; ok && cur != NULL;
       cur = clist_next (cur))
    {
      struct mailimap_mailbox_list *list = clist_content (cur);
      g_autofree char *folder = g_strdup (list->mb_name);

      if (list->mb_delimiter != 0)
        g_strdelimit (folder, (char []) { list->mb_delimiter, '\0' }, '/');
      /* A folder that holds no messages, only folders: one of the store's
       * too. */
      if (list->mb_flag != NULL && list->mb_flag->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
          list->mb_flag->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
        cairn_test_snapshot_add_folder (snapshot, folder);
      else
        ok = read_messages (session, list->mb_name, folder, snapshot, error);
    }
  if (result != NULL)
    mailimap_list_result_free (result);
  return ok ? g_steal_pointer (&snapshot) : NULL;
}

static struct mailimap_flag_list *
flag_list_of (const CairnFlags *flags)
{
  struct mailimap_flag_list *list = mailimap_flag_list_new_empty ();

  for (guint i = 0; flags != NULL && i < cairn_flags_get_size (flags); i++)
    {
      const char *flag = cairn_flags_get_flag (flags, i);
      struct mailimap_flag *one = NULL;

      for (guint j = 0; j < G_N_ELEMENTS (system_flags); j++)
        if (g_str_equal (flag, system_flags[j].flag))
          one = mailimap_flag_new (system_flags[j].type, NULL, NULL);
      mailimap_flag_list_add (list, one ? one : mailimap_flag_new_flag_keyword (strdup (flag)));
    }
  return list;
}

static char *
imap_add_item (CairnTestBackend  *backend,
               const char        *folder,
               GBytes            *content,
               const CairnFlags  *flags,
               GError           **error)
{
  g_autoptr(mailimap) session = session_new (REPLAY_IMAP_BACKEND (backend), error);
  g_autofree char *mailbox = NULL;
  struct mailimap_flag_list *list = flag_list_of (flags);
  guint32 validity = 0, uid = 0;
  char delimiter;
  int r;

  if (session == NULL || (delimiter = delimiter_of (session, error)) == 0)
    {
      mailimap_flag_list_free (list);
      return NULL;
    }
  mailbox = mailbox_of (folder, delimiter);
  r = mailimap_uidplus_append (session, mailbox, list, NULL, g_bytes_get_data (content, NULL),
                               g_bytes_get_size (content), &validity, &uid);
  mailimap_flag_list_free (list);
  if (!check (r, "APPEND", error))
    return NULL;
  if (uid == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "No APPENDUID from the server");
      return NULL;
    }
  return g_strdup_printf ("%u", uid);
}

/* UID STORE @att (taken) on message @name of @folder, as another client
 * does; with @expunge, UID EXPUNGE then. */
static gboolean
store_uid (CairnTestBackend                 *backend,
           const char                       *folder,
           const char                       *name,
           struct mailimap_store_att_flags  *att,
           gboolean                          expunge,
           GError                          **error)
{
  g_autoptr(mailimap) session = session_new (REPLAY_IMAP_BACKEND (backend), error);
  g_autofree char *mailbox = NULL;
  struct mailimap_set *set = NULL;
  guint64 uid;
  char delimiter;
  gboolean ok = FALSE;

  if (session != NULL && (delimiter = delimiter_of (session, error)) != 0)
    {
      mailbox = mailbox_of (folder, delimiter);
      if (g_ascii_string_to_unsigned (name, 10, 1, G_MAXUINT32, &uid, error) &&
          check (mailimap_select (session, mailbox), "SELECT", error))
        {
          set = mailimap_set_new_single (uid);
          ok = check (mailimap_uid_store (session, set, att), "UID STORE", error) &&
               (!expunge || check (mailimap_uid_expunge (session, set), "UID EXPUNGE", error));
          mailimap_set_free (set);
        }
    }
  mailimap_store_att_flags_free (att);
  return ok;
}

static gboolean
imap_remove_item (CairnTestBackend  *backend,
                  const char        *folder,
                  const char        *name,
                  GError           **error)
{
  struct mailimap_flag_list *deleted = mailimap_flag_list_new_empty ();

  mailimap_flag_list_add (deleted, mailimap_flag_new_deleted ());
  return store_uid (backend, folder, name,
                    mailimap_store_att_flags_new_add_flags_silent (deleted), TRUE, error);
}

/* As another client files a message: UID MOVE, whose COPYUID answer
 * (RFC 4315) names it in the other folder. */
static char *
imap_move_item (CairnTestBackend  *backend,
                const char        *folder,
                const char        *name,
                const char        *to,
                GError           **error)
{
  g_autoptr(mailimap) session = session_new (REPLAY_IMAP_BACKEND (backend), error);
  g_autofree char *mailbox = NULL;
  g_autofree char *target = NULL;
  struct mailimap_set *set = NULL;
  struct mailimap_set *source = NULL;
  struct mailimap_set *moved = NULL;
  struct mailimap_set_item *first;
  guint32 validity = 0;
  guint64 uid;
  char delimiter;
  char *moved_name = NULL;
  int r;

  if (session == NULL || (delimiter = delimiter_of (session, error)) == 0)
    return NULL;
  mailbox = mailbox_of (folder, delimiter);
  target = mailbox_of (to, delimiter);
  if (!g_ascii_string_to_unsigned (name, 10, 1, G_MAXUINT32, &uid, error) ||
      !check (mailimap_select (session, mailbox), "SELECT", error))
    return NULL;
  set = mailimap_set_new_single (uid);
  r = mailimap_uidplus_uid_move (session, set, target, &validity, &source, &moved);
  mailimap_set_free (set);
  if (check (r, "UID MOVE", error))
    {
      first = moved && moved->set_list ? clist_content (clist_begin (moved->set_list)) : NULL;
      if (first != NULL)
        moved_name = g_strdup_printf ("%u", first->set_first);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "No COPYUID from the server");
    }
  g_clear_pointer (&source, mailimap_set_free);
  g_clear_pointer (&moved, mailimap_set_free);
  return moved_name;
}

/* As another client marks a message: UID STORE FLAGS. */
static gboolean
imap_set_flags (CairnTestBackend  *backend,
                const char        *folder,
                const char        *name,
                const CairnFlags  *flags,
                GError           **error)
{
  return store_uid (backend, folder, name,
                    mailimap_store_att_flags_new_set_flags_silent (flag_list_of (flags)), FALSE,
                    error);
}

/* CREATE, RENAME or DELETE of top-level folders, as another client does
 * them: @name is the new name for a RENAME, else %NULL. */
static gboolean
change_folder (CairnTestBackend  *backend,
               const char        *command,
               const char        *folder,
               const char        *name,
               GError           **error)
{
  g_autoptr(mailimap) session = session_new (REPLAY_IMAP_BACKEND (backend), error);
  int r;

  if (session == NULL)
    return FALSE;
  if (g_str_equal (command, "CREATE"))
    r = mailimap_create (session, folder);
  else if (g_str_equal (command, "RENAME"))
    r = mailimap_rename (session, folder, name);
  else
    r = mailimap_delete (session, folder);
  return check (r, command, error);
}

static gboolean
imap_add_folder (CairnTestBackend  *backend,
                 const char        *folder,
                 GError           **error)
{
  return change_folder (backend, "CREATE", folder, NULL, error);
}

static gboolean
imap_rename_folder (CairnTestBackend  *backend,
                    const char        *folder,
                    const char        *name,
                    GError           **error)
{
  return change_folder (backend, "RENAME", folder, name, error);
}

static gboolean
imap_remove_folder (CairnTestBackend  *backend,
                    const char        *folder,
                    GError           **error)
{
  return change_folder (backend, "DELETE", folder, NULL, error);
}

static void
replay_imap_backend_iface_init (CairnTestBackendInterface *iface)
{
  iface->read = imap_read;
  iface->add_item = imap_add_item;
  iface->remove_item = imap_remove_item;
  iface->move_item = imap_move_item;
  iface->set_flags = imap_set_flags;
  iface->add_folder = imap_add_folder;
  iface->rename_folder = imap_rename_folder;
  iface->remove_folder = imap_remove_folder;
}

ReplayImapBackend *
replay_imap_backend_new (guint16     port,
                         const char *user,
                         const char *password)
{
  ReplayImapBackend *self = g_object_new (REPLAY_TYPE_IMAP_BACKEND, NULL);

  self->port = port;
  self->user = g_strdup (user);
  self->password = g_strdup (password);
  return self;
}
