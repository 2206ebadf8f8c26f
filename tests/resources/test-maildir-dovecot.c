/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The maildir resource beside a real Dovecot serving the same maildir:
 * both sides set and clear flags and keywords (with $Forwarded), move,
 * copy and create folders with non-ASCII names for CAIRN_DOVECOT_SECONDS
 * (30 by default), drawing their choices from CAIRN_DOVECOT_SEED (13 by
 * default); then what IMAP shows and what the store holds agree message
 * for message, and every dovecot-keywords file names each letter in use
 * once. As root, everything runs as nobody, as Dovecot's mail user must
 * own the mail. */
#include <check.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <cairn-test/cairn-test.h>

#include "cairn-resource-checks.h"
#include "cairn-test-suite.h"
#include "imap-fixture.h"

#define ID "maildir_0"
#define WAIT_MS (120 * 1000)

static CairnTestEnvironment *environment;
static CairnTestResource *resource;
static CairnStore *client;
static ImapFixture *dovecot;
static const char *root;

static void
setup (void)
{
  GError *error = NULL;

  environment = cairn_test_environment_new (CAIRN_TEST_ENVIRONMENT_NONE, &error);
  ck_assert_msg (environment != NULL, "environment: %s", error ? error->message : "");
  g_setenv ("CAIRN_AGENTS_DIR", MAILDIR_AGENT_DIR, TRUE);
  g_setenv ("CAIRN_AGENT_HOST", AGENT_HOST, TRUE);
  dovecot = imap_fixture_new (cairn_test_environment_get_path (environment));
  root = dovecot->root;
}

static void
teardown (void)
{
  g_clear_pointer (&dovecot, imap_fixture_free);
  root = NULL;
  g_clear_object (&client);
  g_clear_object (&resource);
  g_clear_object (&environment);
}

static char *
run_python (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autofree char *errors = NULL;
  GError *error = NULL;
  int status;

  g_ptr_array_add (argv, "/usr/bin/python3");
  g_ptr_array_add (argv, IMAP_SIDE);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  ck_assert (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                           &errors, &status, &error));
  assert_no_error (error);
  ck_assert_msg (g_spawn_check_wait_status (status, NULL), "IMAP side failed: %s", errors);
  return g_steal_pointer (&out);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

typedef struct
{
  const char *folder;
  GPtrArray *lines;
  GHashTable *details;
} Dump;

/* One random write of the store's side, with what it works on. */
typedef struct
{
  GRand *rng;
  GPtrArray *collections;
  CairnCollection *collection;
  GPtrArray *items;
  guint n;
} LocalOp;

static gboolean
collect_item (CairnItem *item,
              gpointer   user_data)
{
  g_ptr_array_add (user_data, g_object_ref (item));
  return TRUE;
}

static gboolean
local_op (CairnTransaction  *transaction,
          gpointer           user_data,
          GError           **error)
{
  LocalOp *op = user_data;
  const char *flags[] = { CAIRN_FLAG_SEEN, CAIRN_FLAG_FLAGGED, "$Forwarded", "$Label1", "Work" };
  const char *folders[] = { "Gr\u00fc\u00dfe", "Caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac" };
  guint action = g_rand_int_range (op->rng, 0, 100);

  if (action < 4 && op->collections->len < 8)
    {
      g_autofree char *name = g_strdup_printf ("%s %u", folders[op->n % G_N_ELEMENTS (folders)],
                                               op->n);
      g_autoptr(CairnCollection) created = cairn_collection_new (ID, 0, name);
      const char *mime_types[] = { "message/rfc822", NULL };

      cairn_collection_set_content_mime_types (created, mime_types);
      return cairn_transaction_create_collection (transaction, created, error);
    }
  if (action < 20 || op->items->len == 0)
    {
      g_autofree char *text = g_strdup_printf ("From: store@example.org\nSubject: store %u\n"
                                               "Message-ID: <store-%u@example.org>\n\nx\n",
                                               op->n, op->n);
      g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));
      g_autoptr(CairnPart) part = cairn_part_new_inline (CAIRN_PART_RFC822, bytes);
      g_autoptr(CairnItem) item = cairn_item_new ("message/rfc822");

      cairn_item_set_part (item, part);
      cairn_item_set_size (item, strlen (text));
      cairn_item_set_collection_id (item, cairn_collection_get_id (op->collection));
      return cairn_transaction_create_item (transaction, item, error);
    }
  {
    CairnItem *item = g_ptr_array_index (op->items, g_rand_int_range (op->rng, 0,
                                                                      op->items->len));
    g_autoptr(CairnFlagsDelta) delta = cairn_flags_delta_new ();
    const char *flag = flags[g_rand_int_range (op->rng, 0, G_N_ELEMENTS (flags))];
    CairnCollection *target = g_ptr_array_index (op->collections,
                                                 g_rand_int_range (op->rng, 0,
                                                                   op->collections->len));

    if (action < 30)
      return cairn_transaction_move_item (transaction, cairn_item_get_id (item),
                                          cairn_collection_get_id (target), error);
    if (g_rand_boolean (op->rng))
      cairn_flags_delta_add (delta, flag);
    else
      cairn_flags_delta_remove (delta, flag);
    return cairn_transaction_change_flags (transaction, cairn_item_get_id (item), delta, 0,
                                           error);
  }
}

/* Appends @value to the list kept under @key; takes both. */
static void
add_detail (GHashTable *details,
            char       *key,
            char       *value)
{
  GPtrArray *values = g_hash_table_lookup (details, key);

  if (values == NULL)
    {
      values = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (details, g_strdup (key), values);
    }
  g_ptr_array_add (values, value);
  g_free (key);
}

static GHashTable *
details_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                (GDestroyNotify) g_ptr_array_unref);
}

static gboolean
dump_item (CairnItem *item,
           gpointer   user_data)
{
  Dump *dump = user_data;
  CairnFlags *flags = cairn_item_get_flags (item);
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
  g_autofree char *joined = NULL;

  for (guint i = 0; i < cairn_flags_get_size (flags); i++)
    g_ptr_array_add (sorted, (gpointer) cairn_flags_get_flag (flags, i));
  g_ptr_array_sort (sorted, compare_strings);
  g_ptr_array_add (sorted, NULL);
  joined = g_strjoinv (" ", (char **) sorted->pdata);
  g_ptr_array_add (dump->lines, g_strdup_printf ("%s\t%s\t%s", dump->folder,
                                                 cairn_item_get_gid (item) ?
                                                 cairn_item_get_gid (item) : "", joined));
  add_detail (dump->details,
              g_strdup_printf ("%s\t%s", dump->folder,
                               cairn_item_get_gid (item) ? cairn_item_get_gid (item) : ""),
              g_strdup_printf ("item %" G_GINT64_FORMAT " remote id %s revision %s",
                               cairn_item_get_id (item),
                               cairn_item_get_remote_id (item) ?
                               cairn_item_get_remote_id (item) : "(none)",
                               cairn_item_get_remote_revision (item) ?
                               cairn_item_get_remote_revision (item) : "(none)"));
  return TRUE;
}

/* The store's lines; @details gets each item's ids and file name under
 * "FOLDER\tGID", to say which files a difference is about. */
static char *
store_dump (GHashTable *details)
{
  g_autoptr(GPtrArray) collections = NULL;
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(CairnFetchScope) scope = cairn_fetch_scope_new ();
  GError *error = NULL;

  collections = cairn_store_list_collections (client, ID, &error);
  assert_no_error (error);
  for (guint i = 0; i < collections->len; i++)
    {
      CairnCollection *collection = g_ptr_array_index (collections, i);
      Dump dump = { cairn_collection_get_name (collection), lines, details };

      ck_assert (cairn_store_foreach_item (client, cairn_collection_get_id (collection), scope,
                                           dump_item, &dump, NULL, &error));
      assert_no_error (error);
    }
  g_ptr_array_sort (lines, compare_strings);
  g_ptr_array_add (lines, g_strdup (""));
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

static char *
sorted_lines (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr(GPtrArray) kept = g_ptr_array_new ();

  for (guint i = 0; lines[i] != NULL; i++)
    if (*lines[i] != '\0')
      g_ptr_array_add (kept, lines[i]);
  g_ptr_array_sort (kept, compare_strings);
  g_ptr_array_add (kept, "");
  g_ptr_array_add (kept, NULL);
  return g_strjoinv ("\n", (char **) kept->pdata);
}

/* Groups lines "FOLDER\tGID\tFLAGS" by "FOLDER\tGID": the flags of each
 * copy of the message there. */
static GHashTable *
group_lines (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GHashTable *groups = details_new ();

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *flags = strrchr (lines[i], '\t');

      if (flags == NULL)
        continue;
      add_detail (groups, g_strndup (lines[i], flags - lines[i]),
                  g_strdup_printf ("[%s]", flags + 1));
    }
  return groups;
}

static char *
join_values (GPtrArray *values)
{
  g_autoptr(GString) joined = g_string_new (NULL);

  for (guint i = 0; values != NULL && i < values->len; i++)
    g_string_append_printf (joined, "%s%s", i > 0 ? " " : "",
                            (const char *) g_ptr_array_index (values, i));
  return g_string_free (g_steal_pointer (&joined), FALSE);
}

/* Appends to @report every file of the tree whose header names @gid, with
 * its name: the disk's side of a difference. */
static void
report_files (GString    *report,
              const char *gid)
{
  g_autofree char *needle = g_strdup_printf ("<%s>", gid);
  g_autoptr(GPtrArray) folders = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) top = g_dir_open (root, 0, NULL);
  const char *name;

  g_ptr_array_add (folders, g_strdup (root));
  while (top != NULL && (name = g_dir_read_name (top)) != NULL)
    if (name[0] == '.')
      g_ptr_array_add (folders, g_build_filename (root, name, NULL));
  for (guint i = 0; i < folders->len; i++)
    for (guint sub = 0; sub < 2; sub++)
      {
        g_autofree char *path = g_build_filename (g_ptr_array_index (folders, i),
                                                  sub == 0 ? "new" : "cur", NULL);
        g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);

        while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
          {
            g_autofree char *file = g_build_filename (path, name, NULL);
            g_autofree char *contents = NULL;

            if (g_file_get_contents (file, &contents, NULL, NULL) &&
                strstr (contents, needle) != NULL)
              g_string_append_printf (report, "    file %s\n", file + strlen (root));
          }
      }
}

/* Says on stderr which messages differ between @store and @imap (sorted
 * lines "FOLDER\tGID\tFLAGS") and how: the flags of each copy on either
 * side, the store's ids and file names, and the files on disk. Check's
 * own message is cut far too short for that. */
static void
report_differences (const char *store,
                    const char *imap,
                    GHashTable *details)
{
  g_autoptr(GHashTable) store_groups = group_lines (store);
  g_autoptr(GHashTable) imap_groups = group_lines (imap);
  g_autoptr(GHashTable) keys = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GString) report = g_string_new ("store and IMAP disagree:\n");
  g_autofree gpointer *sorted = NULL;
  GHashTableIter iter;
  gpointer key;
  guint n_keys;

  g_hash_table_iter_init (&iter, store_groups);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_hash_table_add (keys, key);
  g_hash_table_iter_init (&iter, imap_groups);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_hash_table_add (keys, key);
  sorted = g_hash_table_get_keys_as_array (keys, &n_keys);
  qsort (sorted, n_keys, sizeof *sorted, compare_strings);
  for (guint i = 0; i < n_keys; i++)
    {
      g_autofree char *in_store = join_values (g_hash_table_lookup (store_groups, sorted[i]));
      g_autofree char *in_imap = join_values (g_hash_table_lookup (imap_groups, sorted[i]));
      g_autofree char *ids = NULL;
      const char *gid = strchr (sorted[i], '\t') + 1;

      if (g_str_equal (in_store, in_imap))
        continue;
      ids = join_values (g_hash_table_lookup (details, sorted[i]));
      g_string_append_printf (report, "  %s: store %s, IMAP %s\n    store: %s\n",
                              (const char *) sorted[i], *in_store ? in_store : "(none)",
                              *in_imap ? in_imap : "(none)", *ids ? ids : "(none)");
      if (*gid != '\0')
        report_files (report, gid);
    }
  g_printerr ("%s", report->str);
}

/* Each folder's dovecot-keywords names each keyword once, and every
 * keyword letter in a file name has a line. */
static void
check_keywords_file (const char *folder)
{
  g_autofree char *path = g_build_filename (folder, "dovecot-keywords", NULL);
  g_autofree char *cur = g_build_filename (folder, "cur", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean defined[26] = { FALSE };
  g_auto(GStrv) lines = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_file_get_contents (path, &contents, NULL, NULL))
    {
      lines = g_strsplit (contents, "\n", -1);
      for (guint i = 0; lines[i] != NULL && *lines[i] != '\0'; i++)
        {
          char *end = NULL;
          guint64 index = g_ascii_strtoull (lines[i], &end, 10);

          ck_assert_msg (end != lines[i] && *end == ' ' && index < 26, "%s: bad line %s", path,
                         lines[i]);
          ck_assert_msg (g_hash_table_add (names, end + 1), "%s names %s twice", path, end + 1);
          defined[index] = TRUE;
        }
    }
  dir = g_dir_open (cur, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      const char *info = strstr (name, ":2,");

      for (const char *p = info ? info + 3 : ""; *p != '\0' && *p != ','; p++)
        ck_assert_msg (!(*p >= 'a' && *p <= 'z') || defined[*p - 'a'],
                       "%s/%s has a letter %s does not define", cur, name, path);
    }
}

static void
python_done (GPid     pid,
             gint     status,
             gpointer user_data)
{
  g_spawn_close_pid (pid);
  *(gboolean *) user_data = TRUE;
}

START_TEST (test_beside_dovecot)
{
  const char *seconds = g_getenv ("CAIRN_DOVECOT_SECONDS");
  const char *seed = g_getenv ("CAIRN_DOVECOT_SEED") ? g_getenv ("CAIRN_DOVECOT_SEED") : "13";
  const char *config[] = { "path", root, "layout", "maildir++", "read-only", "false", NULL };
  CairnTestMaildir *maildir = dovecot->maildir;
  g_autofree char *port = NULL;
  g_autofree char *imap = NULL;
  g_autofree char *store = NULL;
  g_autofree char *python = NULL;
  g_autoptr(GHashTable) details = details_new ();
  g_autoptr(GRand) rng = NULL;
  const char *run_args[5];
  const char *dump_args[3];
  gboolean done = FALSE;
  GError *error = NULL;
  GPid pid;
  guint n = 0;

  rng = g_rand_new_with_seed (atoi (seed));
  ck_assert (cairn_test_maildir_create_folder (maildir, "INBOX", &error));
  ck_assert (cairn_test_maildir_generate (maildir, "INBOX", 20, 13, &error));
  assert_no_error (error);
  port = g_strdup_printf ("%u", dovecot->plain_port);
  imap_fixture_start (dovecot);
  resource = cairn_check_start_resource (environment, "maildir", ID, config,
                                         CAIRN_TEST_RESOURCE_IN_PROCESS, WAIT_MS, &client);

  run_args[0] = "run";
  run_args[1] = port;
  run_args[2] = seconds ? seconds : "30";
  run_args[3] = seed;
  run_args[4] = NULL;
  {
    const char *argv[] = { "/usr/bin/python3", IMAP_SIDE, run_args[0], run_args[1], run_args[2],
                           run_args[3], NULL };

    ck_assert (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                              &pid, &error));
    assert_no_error (error);
    g_child_watch_add (pid, python_done, &done);
  }

  /* The store's side, at the same time. */
  while (!done)
    {
      g_autoptr(GPtrArray) collections = cairn_store_list_collections (client, ID, NULL);
      CairnCollection *collection = g_ptr_array_index (collections,
                                                       g_rand_int_range (rng, 0,
                                                                         collections->len));
      g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
      LocalOp op = { rng, collections, collection, items, n };

      cairn_store_foreach_item (client, cairn_collection_get_id (collection), NULL, collect_item,
                                items, NULL, NULL);
      /* A write the other side made impossible meanwhile is dropped. */
      cairn_store_write_sync (client, local_op, &op, NULL, NULL, NULL);
      n++;
      for (guint i = 0; i < 50; i++)
        {
          g_main_context_iteration (NULL, FALSE);
          g_usleep (2 * G_TIME_SPAN_MILLISECOND);
        }
    }

  /* Quiet: everything replayed, then read again. */
  for (guint round = 0; round < 2; round++)
    {
      cairn_test_resource_wait_replayed (resource, WAIT_MS, &error);
      assert_no_error (error);
      cairn_test_resource_synchronize_sync (resource, 0, &error);
      g_clear_error (&error);
    }
  dump_args[0] = "dump";
  dump_args[1] = port;
  dump_args[2] = NULL;
  python = run_python (dump_args);
  imap = sorted_lines (python);
  store = store_dump (details);
  if (!g_str_equal (store, imap))
    report_differences (store, imap, details);
  /* Check cannot carry a message as long as the two listings. */
  ck_assert_msg (g_str_equal (store, imap), "store and IMAP disagree: see the report above");

  {
    g_autoptr(GDir) dir = g_dir_open (root, 0, NULL);
    const char *name;

    check_keywords_file (root);
    while ((name = g_dir_read_name (dir)) != NULL)
      if (name[0] == '.')
        {
          g_autofree char *folder = g_build_filename (root, name, NULL);

          if (g_file_test (folder, G_FILE_TEST_IS_DIR))
            check_keywords_file (folder);
        }
  }
}
END_TEST

int
main (void)
{
  const CairnTestCase cases[] = {
    { "dovecot", test_beside_dovecot },
  };

  imap_fixture_drop_root ();
  if (!g_file_test ("/usr/sbin/dovecot", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("dovecot-imapd is not installed: tests/install-dependencies.sh installs it\n");
      return 1;
    }
  return cairn_test_suite_run (cairn_test_suite_new ("maildir-dovecot", cases,
                                                     G_N_ELEMENTS (cases), setup, teardown, 300));
}
