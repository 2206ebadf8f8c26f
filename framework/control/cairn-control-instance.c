/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Supervision of one agent instance: one process (cairn-agent-host for a
 * Module type, the type's program for an Exec type), restarted with
 * backoff when it exits without being asked, and broken after too many
 * recent crashes. Its output goes, line by line with the instance id, to
 * the journal when the service's stderr is the journal, and otherwise to
 * $XDG_STATE_HOME/cairn/log/ID.log.
 *
 * An instance of a type with IdleExit is stopped once it has had nothing
 * to do for that long (nothing queued, no pending change, no client
 * waiting through the service) and is then idle-exited: woken again by
 * cairn_control_instance_wake_async(), or by itself when its interval
 * sync falls due. */
#include "cairn-control-config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cairn-control-instance.h"

#define AGENT_PATH "/org/cairn/Agent"
#define AGENT_INTERFACE "org.cairn.Agent1"
#define RESOURCE_INTERFACE "org.cairn.Resource1"
#define LOG_LIMIT (1024 * 1024)

/* Exit statuses of cairn-agent-host that no restart can cure: the
 * instance, its type or its module is missing or wrong. */
#define HOST_EXIT_FIRST_PERMANENT 2
#define HOST_EXIT_LAST_PERMANENT 6

struct _CairnControlInstance
{
  GObject parent_instance;

  char *id;
  char *type_id;
  char *bus_name;
  CairnAgentType *type;
  GDBusConnection *bus;
  char *store_path;
  char *agent_host;
  CairnControlTimings timings;

  CairnControlState state;
  GSubprocess *process;
  GPid pid;
  gboolean exited;
  gboolean output_done;
  GCancellable *cancellable;
  gboolean stopping;
  GPtrArray *stop_tasks;
  guint kill_source;
  guint restart_source;
  GArray *crashes;
  guint restarts;
  char *last_line;
  char *reason;

  gboolean journal;
  FILE *log;
  char *log_path;

  CairnAgentStatus status;
  char *message;
  guint progress;
  guint64 items_done;
  guint64 items_known;
  gboolean online;
  gboolean has_resource_properties;
  guint64 pending_changes;
  GVariant *queue_lengths;
  guint32 failed_changes;
  GVariant *failed_collections;
  int wanted_online;

  CairnAgentStatus shown_status;
  char *shown_message;
  CairnControlState shown_state;

  gboolean busy;
  guint holds;
  guint idle_source;
  gboolean idle_exiting;
  gboolean wake_pending;
  GPtrArray *wake_tasks;
  gint64 started_at;
  guint sync_source;

  guint watch;
  guint subscription;
};

enum {
  SIGNAL_STATUS_CHANGED,
  SIGNAL_PROGRESS_CHANGED,
  SIGNAL_IDLE_EXITED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CairnControlInstance, cairn_control_instance, G_TYPE_OBJECT)

static const char * const state_names[] = {
  "stopped", "starting", "running", "restarting", "broken", "idle-exited",
};

static void start_process (CairnControlInstance *self);
static gboolean force_kill (gpointer data);
static void update_idle_timer (CairnControlInstance *self);
static void complete_wakes (CairnControlInstance *self);

/* Emits status-changed if what ListInstances shows has changed. */
static void
update_shown_status (CairnControlInstance *self)
{
  g_autofree char *message = cairn_control_instance_dup_message (self);
  CairnAgentStatus status = cairn_control_instance_get_status (self);

  if (status == self->shown_status && self->state == self->shown_state &&
      g_strcmp0 (message, self->shown_message) == 0)
    return;
  self->shown_status = status;
  self->shown_state = self->state;
  g_free (self->shown_message);
  self->shown_message = g_steal_pointer (&message);
  g_signal_emit (self, signals[SIGNAL_STATUS_CHANGED], 0);
}

static void
set_state (CairnControlInstance *self,
           CairnControlState     state,
           const char           *reason)
{
  self->state = state;
  if (reason != NULL)
    {
      g_free (self->reason);
      self->reason = g_strdup (reason);
    }
  update_shown_status (self);
  complete_wakes (self);
  update_idle_timer (self);
}

/* The agent's output */

static void
open_log (CairnControlInstance *self)
{
  g_autofree char *folder = g_build_filename (g_get_user_state_dir (), "cairn", "log", NULL);
  g_autofree char *name = g_strconcat (self->id, ".log", NULL);

  g_mkdir_with_parents (folder, 0700);
  self->log_path = g_build_filename (folder, name, NULL);
  self->log = fopen (self->log_path, "a");
  if (self->log == NULL)
    g_warning ("Cannot open the log %s of instance %s: %s", self->log_path, self->id,
               g_strerror (errno));
}

/* Keeps one previous file, so that a chatty agent cannot fill the disk. */
static void
rotate_log (CairnControlInstance *self)
{
  g_autofree char *previous = g_strconcat (self->log_path, ".1", NULL);

  if (self->log == NULL || ftell (self->log) < LOG_LIMIT)
    return;
  fclose (self->log);
  g_rename (self->log_path, previous);
  self->log = fopen (self->log_path, "a");
}

static void
log_line (CairnControlInstance *self,
          const char           *line)
{
  if (self->journal)
    {
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                        "CAIRN_INSTANCE", self->id,
                        "MESSAGE", "%s: %s", self->id, line);
      return;
    }
  if (self->log == NULL)
    open_log (self);
  if (self->log == NULL)
    return;
  {
    g_autoptr(GDateTime) now = g_date_time_new_now_local ();
    g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%d %H:%M:%S");

    fprintf (self->log, "%s %s: %s\n", stamp, self->id, line);
    fflush (self->log);
  }
  rotate_log (self);
}

static void process_finished (CairnControlInstance *self);

static void
read_line_done (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  g_autoptr(CairnControlInstance) self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL,
                                                    &error);
  if (line == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
    line = g_strdup ("(a line that is not UTF-8)");
  if (line == NULL)
    {
      self->output_done = TRUE;
      process_finished (self);
      return;
    }
  g_strchomp (line);
  log_line (self, line);
  if (*line != '\0')
    {
      g_free (self->last_line);
      self->last_line = g_steal_pointer (&line);
    }
  g_data_input_stream_read_line_async (G_DATA_INPUT_STREAM (source), G_PRIORITY_DEFAULT,
                                       self->cancellable, read_line_done, g_object_ref (self));
}

/* Restarts */

/* Forgets crashes older than the window, whatever kind of exit they
 * were, and returns how many are left. */
static guint
recent_crashes (CairnControlInstance *self)
{
  gint64 oldest = g_get_monotonic_time () - (gint64) self->timings.crash_window_ms * 1000;

  while (self->crashes->len > 0 && g_array_index (self->crashes, gint64, 0) < oldest)
    g_array_remove_index (self->crashes, 0);
  return self->crashes->len;
}

static gboolean
restart_due (gpointer data)
{
  CairnControlInstance *self = data;

  self->restart_source = 0;
  self->restarts++;
  start_process (self);
  return G_SOURCE_REMOVE;
}

static char *
describe_exit (CairnControlInstance *self,
               int                   wait_status,
               gboolean             *permanent)
{
  g_autofree char *how = NULL;

  *permanent = FALSE;
  if (WIFSIGNALED (wait_status))
    how = g_strdup_printf ("was killed by signal %d (%s)", WTERMSIG (wait_status),
                           g_strsignal (WTERMSIG (wait_status)));
  else
    {
      int code = WEXITSTATUS (wait_status);

      *permanent = self->type != NULL && cairn_agent_type_get_module (self->type) != NULL &&
                   code >= HOST_EXIT_FIRST_PERMANENT && code <= HOST_EXIT_LAST_PERMANENT;
      how = g_strdup_printf ("exited with status %d", code);
    }
  if (self->last_line == NULL)
    return g_steal_pointer (&how);
  return g_strdup_printf ("%s; its last words: %s", how, self->last_line);
}

static void
handle_crash (CairnControlInstance *self,
              int                   wait_status)
{
  gboolean permanent;
  g_autofree char *what = describe_exit (self, wait_status, &permanent);
  g_autofree char *reason = NULL;
  gint64 now = g_get_monotonic_time ();
  guint crashes, delay;

  g_array_append_val (self->crashes, now);
  crashes = recent_crashes (self);
  if (permanent)
    {
      reason = g_strdup_printf ("cannot run: it %s", what);
      set_state (self, CAIRN_CONTROL_STATE_BROKEN, reason);
      return;
    }
  if (crashes >= self->timings.max_crashes)
    {
      reason = g_strdup_printf ("crashed %u times within %u s, restart it by hand; last, it %s",
                                crashes, self->timings.crash_window_ms / 1000, what);
      set_state (self, CAIRN_CONTROL_STATE_BROKEN, reason);
      return;
    }

  delay = self->timings.backoff_ms;
  for (guint i = 1; i < crashes && delay < self->timings.max_backoff_ms; i++)
    delay *= 2;
  delay = MIN (delay, self->timings.max_backoff_ms);
  self->restart_source = g_timeout_add (delay, restart_due, self);
  reason = g_strdup_printf ("restarting in %u ms: it %s", delay, what);
  set_state (self, CAIRN_CONTROL_STATE_RESTARTING, reason);
}

static void
complete_stops (CairnControlInstance *self)
{
  g_autoptr(GPtrArray) tasks = g_steal_pointer (&self->stop_tasks);

  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_boolean (g_ptr_array_index (tasks, i), TRUE);
}

/* Idle exit */

/* Nothing queued, nothing to replay, nobody waiting: only a resource
 * says so, through its Resource1 properties. */
static gboolean
is_idle (CairnControlInstance *self)
{
  if (self->state != CAIRN_CONTROL_STATE_RUNNING || !self->has_resource_properties ||
      self->busy || self->holds > 0 || self->pending_changes > 0 ||
      self->status == CAIRN_AGENT_STATUS_RUNNING)
    return FALSE;
  if (self->queue_lengths != NULL)
    {
      GVariantIter iter;
      guint32 length;

      g_variant_iter_init (&iter, self->queue_lengths);
      while (g_variant_iter_next (&iter, "u", &length))
        if (length > 0)
          return FALSE;
    }
  return TRUE;
}

static gboolean
idle_due (gpointer data)
{
  CairnControlInstance *self = data;

  self->idle_source = 0;
  if (!is_idle (self) || self->process == NULL || self->stopping)
    return G_SOURCE_REMOVE;
  /* The agent finishes the callback it is in; whatever it has not
   * processed stays in its recorder, and the service follows the change
   * log to start it again. */
  self->idle_exiting = TRUE;
  self->stopping = TRUE;
  g_subprocess_send_signal (self->process, SIGTERM);
  self->kill_source = g_timeout_add (self->timings.grace_ms, force_kill, self);
  return G_SOURCE_REMOVE;
}

static void
update_idle_timer (CairnControlInstance *self)
{
  guint idle_exit = self->type != NULL ? cairn_agent_type_get_idle_exit (self->type) : 0;

  if (idle_exit == 0 || !is_idle (self))
    {
      g_clear_handle_id (&self->idle_source, g_source_remove);
      return;
    }
  if (self->idle_source == 0)
    self->idle_source = g_timeout_add ((guint) MIN ((guint64) idle_exit * 1000, G_MAXUINT),
                                       idle_due, self);
}

/* The instance's `sync-interval` key (CairnResource:sync-interval), read
 * when it exits, so a Configure in between counts. */
static guint
read_sync_interval (CairnControlInstance *self)
{
  g_autofree char *path = cairn_agent_build_config_path (self->id);
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  guint64 seconds;
  g_autofree char *text = NULL;

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, NULL))
    return 0;
  text = g_key_file_get_string (key_file, "Agent", "sync-interval", NULL);
  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT32, &seconds, NULL))
    return 0;
  return seconds;
}

static gboolean
sync_due (gpointer data)
{
  CairnControlInstance *self = data;

  self->sync_source = 0;
  /* A resource synchronizes every collection when it starts. */
  if (self->state == CAIRN_CONTROL_STATE_IDLE_EXITED)
    start_process (self);
  return G_SOURCE_REMOVE;
}

static void
finish_idle_exit (CairnControlInstance *self)
{
  guint interval = read_sync_interval (self);

  self->stopping = FALSE;
  self->idle_exiting = FALSE;
  set_state (self, CAIRN_CONTROL_STATE_IDLE_EXITED, NULL);
  if (interval > 0)
    {
      /* Its scheduler counted the interval from its start. */
      gint64 due = self->started_at + (gint64) interval * G_USEC_PER_SEC;
      gint64 delay = MAX (0, due - g_get_monotonic_time ()) / 1000;

      self->sync_source = g_timeout_add ((guint) MIN (delay, G_MAXUINT), sync_due, self);
    }
  complete_stops (self);
  /* A wake that came while it was exiting. */
  if (self->wake_pending)
    {
      self->wake_pending = FALSE;
      start_process (self);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_IDLE_EXITED], 0);
}

/* Runs once the process has exited and its output is read to the end,
 * so that the last line it wrote is known. */
static void
process_finished (CairnControlInstance *self)
{
  int wait_status;

  if (!self->exited || !self->output_done || self->process == NULL)
    return;

  wait_status = g_subprocess_get_status (self->process);
  g_clear_object (&self->process);
  self->pid = 0;
  g_clear_handle_id (&self->kill_source, g_source_remove);
  self->has_resource_properties = FALSE;
  self->busy = FALSE;
  self->pending_changes = 0;
  g_clear_pointer (&self->queue_lengths, g_variant_unref);
  self->progress = 0;
  self->items_done = self->items_known = 0;

  if (self->stopping && self->idle_exiting)
    {
      finish_idle_exit (self);
      return;
    }
  if (self->stopping)
    {
      self->stopping = FALSE;
      set_state (self, CAIRN_CONTROL_STATE_STOPPED, NULL);
      complete_stops (self);
      return;
    }
  handle_crash (self, wait_status);
}

static void
wait_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(CairnControlInstance) self = data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  self->exited = TRUE;
  process_finished (self);
}

/* In the child, before exec: the agent dies with the service, even if
 * the service is killed with SIGKILL. If the service is already gone the
 * signal would never come, so the child gives up at once. */
static void
child_setup (gpointer data)
{
  pid_t parent = GPOINTER_TO_INT (data);

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (127);
}

static GStrv
build_argv (CairnControlInstance  *self,
            GError               **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  if (self->type == NULL)
    {
      g_set_error (error, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_NOT_FOUND,
                   "its agent type “%s” is not installed", self->type_id);
      return NULL;
    }
  if (cairn_agent_type_get_exec (self->type) != NULL)
    {
      g_auto(GStrv) exec = NULL;

      if (!g_shell_parse_argv (cairn_agent_type_get_exec (self->type), NULL, &exec, error))
        return NULL;
      g_strv_builder_addv (builder, (const char **) exec);
    }
  else
    g_strv_builder_add (builder, self->agent_host);
  g_strv_builder_add_many (builder, "--instance", self->id, "--store", self->store_path, NULL);
  return g_strv_builder_end (builder);
}

static void
start_process (CairnControlInstance *self)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) output = NULL;
  g_auto(GStrv) argv = NULL;
  const char *identifier;

  if (self->process != NULL)
    return;
  g_clear_handle_id (&self->restart_source, g_source_remove);
  g_clear_handle_id (&self->sync_source, g_source_remove);
  self->started_at = g_get_monotonic_time ();

  argv = build_argv (self, &error);
  if (argv == NULL)
    {
      g_autofree char *reason = g_strdup_printf ("cannot run: %s", error->message);

      set_state (self, CAIRN_CONTROL_STATE_BROKEN, reason);
      return;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, GINT_TO_POINTER (getpid ()),
                                         NULL);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv, &error);
  if (self->process == NULL)
    {
      g_autofree char *reason = g_strdup_printf ("cannot run %s: %s", argv[0], error->message);

      set_state (self, CAIRN_CONTROL_STATE_BROKEN, reason);
      return;
    }

  /* A process that exits at once may be reaped before this, and then
   * has no identifier: its exit is reported all the same. */
  identifier = g_subprocess_get_identifier (self->process);
  self->pid = identifier != NULL ? (GPid) g_ascii_strtoll (identifier, NULL, 10) : 0;
  self->exited = FALSE;
  self->output_done = FALSE;
  g_clear_pointer (&self->last_line, g_free);
  output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  g_data_input_stream_set_newline_type (output, G_DATA_STREAM_NEWLINE_TYPE_LF);
  g_data_input_stream_read_line_async (output, G_PRIORITY_DEFAULT, self->cancellable,
                                       read_line_done, g_object_ref (self));
  g_subprocess_wait_async (self->process, NULL, wait_done, g_object_ref (self));
  set_state (self, CAIRN_CONTROL_STATE_STARTING, NULL);
}

/* What the agent reports on the bus */

static void
set_progress (CairnControlInstance *self,
              guint                 progress,
              guint64               items_done,
              guint64               items_known)
{
  progress = MIN (progress, 100);
  if (progress == self->progress && items_done == self->items_done &&
      items_known == self->items_known)
    return;
  self->progress = progress;
  self->items_done = items_done;
  self->items_known = items_known;
  g_signal_emit (self, signals[SIGNAL_PROGRESS_CHANGED], 0);
}

static void
apply_property (CairnControlInstance *self,
                const char           *name,
                GVariant             *value)
{
  if (g_str_equal (name, "Status") && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    self->status = MIN (g_variant_get_uint32 (value), CAIRN_AGENT_STATUS_DEGRADED);
  else if (g_str_equal (name, "StatusMessage") &&
           g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      g_free (self->message);
      self->message = g_variant_dup_string (value, NULL);
    }
  else if (g_str_equal (name, "Progress") && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    set_progress (self, g_variant_get_uint32 (value), self->items_done, self->items_known);
  else if (g_str_equal (name, "ItemsDone") && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    set_progress (self, self->progress, g_variant_get_uint64 (value), self->items_known);
  else if (g_str_equal (name, "ItemsKnown") &&
           g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    set_progress (self, self->progress, self->items_done, g_variant_get_uint64 (value));
  else if (g_str_equal (name, "Online") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    self->online = g_variant_get_boolean (value);
  else if (g_str_equal (name, "PendingChanges") &&
           g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    {
      self->has_resource_properties = TRUE;
      self->pending_changes = g_variant_get_uint64 (value);
    }
  else if (g_str_equal (name, "QueueLengths") &&
           g_variant_is_of_type (value, G_VARIANT_TYPE ("au")))
    {
      self->has_resource_properties = TRUE;
      g_clear_pointer (&self->queue_lengths, g_variant_unref);
      self->queue_lengths = g_variant_ref_sink (value);
    }
  else if (g_str_equal (name, "Busy") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    self->busy = g_variant_get_boolean (value);
  else if (g_str_equal (name, "FailedChanges") &&
           g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    self->failed_changes = g_variant_get_uint32 (value);
  else if (g_str_equal (name, "FailedCollections") &&
           g_variant_is_of_type (value, G_VARIANT_TYPE ("a(tss)")))
    {
      g_clear_pointer (&self->failed_collections, g_variant_unref);
      self->failed_collections = g_variant_ref_sink (value);
    }
}

static void
apply_properties (CairnControlInstance *self,
                  GVariant             *dict)
{
  GVariantIter iter;
  const char *name;
  GVariant *value;

  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
    {
      apply_property (self, name, value);
      g_variant_unref (value);
    }
  update_shown_status (self);
  update_idle_timer (self);
}

static void
get_all_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(CairnControlInstance) self = data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) dict = NULL;

  /* An agent that is not a resource has no Resource1; one that just
   * exited has nothing: both leave the cache as it is. */
  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  if (reply == NULL)
    return;
  dict = g_variant_get_child_value (reply, 0);
  apply_properties (self, dict);
}

static void
get_all (CairnControlInstance *self,
         const char           *interface)
{
  g_dbus_connection_call (self->bus, self->bus_name, AGENT_PATH,
                          "org.freedesktop.DBus.Properties", "GetAll",
                          g_variant_new ("(s)", interface), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, self->cancellable, get_all_done,
                          g_object_ref (self));
}

static void
on_agent_signal (GDBusConnection *connection,
                 const char      *sender,
                 const char      *path,
                 const char      *interface,
                 const char      *member,
                 GVariant        *parameters,
                 gpointer         data)
{
  CairnControlInstance *self = data;
  const char *changed_interface;
  g_autoptr(GVariant) changed = NULL;

  if (self->process == NULL)
    return;
  if (g_str_equal (member, "StatusChanged") &&
      g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(us)")))
    {
      g_autofree char *message = NULL;
      guint status;

      g_variant_get (parameters, "(us)", &status, &message);
      self->status = MIN (status, CAIRN_AGENT_STATUS_DEGRADED);
      g_free (self->message);
      self->message = g_steal_pointer (&message);
      update_shown_status (self);
      update_idle_timer (self);
    }
  else if (g_str_equal (member, "ProgressChanged") &&
           g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(utt)")))
    {
      guint progress;
      guint64 items_done, items_known;

      g_variant_get (parameters, "(utt)", &progress, &items_done, &items_known);
      set_progress (self, progress, items_done, items_known);
    }
  else if (g_str_equal (member, "PropertiesChanged") &&
           g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    {
      g_variant_get (parameters, "(&s@a{sv}@as)", &changed_interface, &changed, NULL);
      apply_properties (self, changed);
    }
}

static void
on_name_appeared (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         data)
{
  CairnControlInstance *self = data;

  if (self->process == NULL || self->stopping)
    return;
  set_state (self, CAIRN_CONTROL_STATE_RUNNING, NULL);
  if (self->wanted_online >= 0)
    g_dbus_connection_call (self->bus, self->bus_name, AGENT_PATH, AGENT_INTERFACE, "SetOnline",
                            g_variant_new ("(b)", self->wanted_online), NULL,
                            G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, NULL, NULL);
  get_all (self, AGENT_INTERFACE);
  if (cairn_agent_type_get_capabilities (self->type) & CAIRN_AGENT_CAPABILITY_RESOURCE)
    get_all (self, RESOURCE_INTERFACE);
}

/* GObject */

static void
cairn_control_instance_dispose (GObject *object)
{
  CairnControlInstance *self = CAIRN_CONTROL_INSTANCE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->watch, g_bus_unwatch_name);
  if (self->subscription != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->bus, self->subscription);
      self->subscription = 0;
    }
  g_clear_handle_id (&self->restart_source, g_source_remove);
  g_clear_handle_id (&self->kill_source, g_source_remove);
  g_clear_handle_id (&self->idle_source, g_source_remove);
  g_clear_handle_id (&self->sync_source, g_source_remove);

  G_OBJECT_CLASS (cairn_control_instance_parent_class)->dispose (object);
}

static void
cairn_control_instance_finalize (GObject *object)
{
  CairnControlInstance *self = CAIRN_CONTROL_INSTANCE (object);

  /* Only a stopped instance is dropped, and every callback holds a
   * reference, so no process is left here. */
  g_warn_if_fail (self->process == NULL);
  g_free (self->id);
  g_free (self->type_id);
  g_free (self->bus_name);
  g_clear_object (&self->type);
  g_clear_object (&self->bus);
  g_free (self->store_path);
  g_free (self->agent_host);
  g_clear_object (&self->cancellable);
  g_ptr_array_unref (self->stop_tasks);
  g_ptr_array_unref (self->wake_tasks);
  g_array_unref (self->crashes);
  g_free (self->last_line);
  g_free (self->reason);
  if (self->log != NULL)
    fclose (self->log);
  g_free (self->log_path);
  g_free (self->message);
  g_clear_pointer (&self->queue_lengths, g_variant_unref);
  g_clear_pointer (&self->failed_collections, g_variant_unref);
  g_free (self->shown_message);

  G_OBJECT_CLASS (cairn_control_instance_parent_class)->finalize (object);
}

static void
cairn_control_instance_class_init (CairnControlInstanceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cairn_control_instance_dispose;
  object_class->finalize = cairn_control_instance_finalize;

  signals[SIGNAL_STATUS_CHANGED] =
    g_signal_new ("status-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_PROGRESS_CHANGED] =
    g_signal_new ("progress-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_IDLE_EXITED] =
    g_signal_new ("idle-exited", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
}

static void
cairn_control_instance_init (CairnControlInstance *self)
{
  self->cancellable = g_cancellable_new ();
  self->stop_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->wake_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  self->crashes = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->wanted_online = -1;
  self->online = TRUE;
  self->journal = g_log_writer_is_journald (STDERR_FILENO);
}

CairnControlInstance *
cairn_control_instance_new (const char                *id,
                            const char                *type_id,
                            CairnAgentType            *type,
                            GDBusConnection           *bus,
                            const char                *store_path,
                            const char                *agent_host,
                            const CairnControlTimings *timings)
{
  CairnControlInstance *self = g_object_new (CAIRN_TYPE_CONTROL_INSTANCE, NULL);

  self->id = g_strdup (id);
  self->type_id = g_strdup (type_id);
  self->bus_name = g_strconcat ("org.cairn.Agent.", id, NULL);
  self->type = type ? g_object_ref (type) : NULL;
  self->bus = g_object_ref (bus);
  self->store_path = g_strdup (store_path);
  self->agent_host = g_strdup (agent_host);
  self->timings = *timings;
  self->shown_status = cairn_control_instance_get_status (self);
  self->shown_message = cairn_control_instance_dup_message (self);

  self->subscription =
    g_dbus_connection_signal_subscribe (bus, self->bus_name, NULL, NULL, AGENT_PATH, NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE, on_agent_signal, self, NULL);
  self->watch = g_bus_watch_name_on_connection (bus, self->bus_name,
                                                G_BUS_NAME_WATCHER_FLAGS_NONE, on_name_appeared,
                                                NULL, self, NULL);
  return self;
}

const char *
cairn_control_instance_get_id (CairnControlInstance *self)
{
  return self->id;
}

const char *
cairn_control_instance_get_type_id (CairnControlInstance *self)
{
  return self->type_id;
}

CairnAgentType *
cairn_control_instance_get_agent_type (CairnControlInstance *self)
{
  return self->type;
}

const char *
cairn_control_instance_get_bus_name (CairnControlInstance *self)
{
  return self->bus_name;
}

CairnControlState
cairn_control_instance_get_state (CairnControlInstance *self)
{
  return self->state;
}

const char *
cairn_control_instance_get_state_name (CairnControlInstance *self)
{
  return state_names[self->state];
}

/* While the process is down, the supervisor's view wins: the agent
 * cannot say anything. */
CairnAgentStatus
cairn_control_instance_get_status (CairnControlInstance *self)
{
  switch (self->state)
    {
    case CAIRN_CONTROL_STATE_RESTARTING:
    case CAIRN_CONTROL_STATE_BROKEN:
      return CAIRN_AGENT_STATUS_BROKEN;
    case CAIRN_CONTROL_STATE_STOPPED:
    case CAIRN_CONTROL_STATE_IDLE_EXITED:
      return CAIRN_AGENT_STATUS_IDLE;
    case CAIRN_CONTROL_STATE_STARTING:
    case CAIRN_CONTROL_STATE_RUNNING:
    default:
      return self->status;
    }
}

char *
cairn_control_instance_dup_message (CairnControlInstance *self)
{
  switch (self->state)
    {
    case CAIRN_CONTROL_STATE_RESTARTING:
    case CAIRN_CONTROL_STATE_BROKEN:
      return g_strdup (self->reason);
    case CAIRN_CONTROL_STATE_STOPPED:
      return g_strdup ("stopped");
    case CAIRN_CONTROL_STATE_IDLE_EXITED:
      return g_strdup ("exited when idle, starts on demand");
    case CAIRN_CONTROL_STATE_STARTING:
      return g_strdup ("starting");
    case CAIRN_CONTROL_STATE_RUNNING:
    default:
      return g_strdup (self->message ? self->message : "");
    }
}

guint
cairn_control_instance_get_progress (CairnControlInstance *self)
{
  return self->progress;
}

guint64
cairn_control_instance_get_items_done (CairnControlInstance *self)
{
  return self->items_done;
}

guint64
cairn_control_instance_get_items_known (CairnControlInstance *self)
{
  return self->items_known;
}

gboolean
cairn_control_instance_get_online (CairnControlInstance *self)
{
  if (self->state != CAIRN_CONTROL_STATE_RUNNING)
    return FALSE;
  return self->online;
}

GPid
cairn_control_instance_get_pid (CairnControlInstance *self)
{
  return self->pid;
}

GVariant *
cairn_control_instance_get_details (CairnControlInstance *self)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (&builder, "{sv}", "state",
                         g_variant_new_string (state_names[self->state]));
  g_variant_builder_add (&builder, "{sv}", "pid", g_variant_new_int32 (self->pid));
  g_variant_builder_add (&builder, "{sv}", "crashes", g_variant_new_uint32 (recent_crashes (self)));
  g_variant_builder_add (&builder, "{sv}", "restarts", g_variant_new_uint32 (self->restarts));
  if (self->items_known > 0)
    {
      g_variant_builder_add (&builder, "{sv}", "items-done",
                             g_variant_new_uint64 (self->items_done));
      g_variant_builder_add (&builder, "{sv}", "items-known",
                             g_variant_new_uint64 (self->items_known));
    }
  if (self->has_resource_properties)
    {
      g_variant_builder_add (&builder, "{sv}", "pending-changes",
                             g_variant_new_uint64 (self->pending_changes));
      g_variant_builder_add (&builder, "{sv}", "queue-lengths",
                             self->queue_lengths ? self->queue_lengths
                                                 : g_variant_new_array (G_VARIANT_TYPE_UINT32,
                                                                        NULL, 0));
      g_variant_builder_add (&builder, "{sv}", "failed-changes",
                             g_variant_new_uint32 (self->failed_changes));
      g_variant_builder_add (&builder, "{sv}", "failed-collections",
                             self->failed_collections
                             ? self->failed_collections
                             : g_variant_new_array (G_VARIANT_TYPE ("(tss)"), NULL, 0));
    }
  return g_variant_builder_end (&builder);
}

void
cairn_control_instance_set_wanted_online (CairnControlInstance *self,
                                          gboolean              online)
{
  self->wanted_online = online;
}

void
cairn_control_instance_start (CairnControlInstance *self)
{
  start_process (self);
}

static gboolean
force_kill (gpointer data)
{
  CairnControlInstance *self = data;

  self->kill_source = 0;
  if (self->process != NULL)
    g_subprocess_force_exit (self->process);
  return G_SOURCE_REMOVE;
}

void
cairn_control_instance_stop_async (CairnControlInstance *self,
                                   GAsyncReadyCallback   callback,
                                   gpointer              data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, data);

  g_task_set_source_tag (task, cairn_control_instance_stop_async);
  g_clear_handle_id (&self->restart_source, g_source_remove);
  g_clear_handle_id (&self->sync_source, g_source_remove);
  /* Asked to stop for good: an idle exit under way becomes a stop. */
  self->idle_exiting = FALSE;
  self->wake_pending = FALSE;
  if (self->process == NULL)
    {
      if (self->state != CAIRN_CONTROL_STATE_BROKEN)
        set_state (self, CAIRN_CONTROL_STATE_STOPPED, NULL);
      g_task_return_boolean (task, TRUE);
      return;
    }

  g_ptr_array_add (self->stop_tasks, g_steal_pointer (&task));
  if (self->stopping)
    return;
  self->stopping = TRUE;
  g_subprocess_send_signal (self->process, SIGTERM);
  self->kill_source = g_timeout_add (self->timings.grace_ms, force_kill, self);
}

void
cairn_control_instance_stop_finish (CairnControlInstance *self,
                                    GAsyncResult         *result)
{
  g_return_if_fail (g_task_is_valid (result, self));

  g_task_propagate_boolean (G_TASK (result), NULL);
}

static void
restart_stopped (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  CairnControlInstance *self = CAIRN_CONTROL_INSTANCE (source);

  cairn_control_instance_stop_finish (self, result);
  self->restarts++;
  start_process (self);
}

/* A restart by hand forgets the crashes: the user has had a look. */
void
cairn_control_instance_restart (CairnControlInstance *self)
{
  g_array_set_size (self->crashes, 0);
  cairn_control_instance_stop_async (self, restart_stopped, NULL);
}

/* Completes the wakes once the instance is running, or fails them once it
 * has come to a state no wake leads out of. */
static void
complete_wakes (CairnControlInstance *self)
{
  g_autoptr(GPtrArray) tasks = NULL;

  if (self->wake_tasks->len == 0 || self->state == CAIRN_CONTROL_STATE_STARTING ||
      self->state == CAIRN_CONTROL_STATE_IDLE_EXITED || self->wake_pending)
    return;
  tasks = g_steal_pointer (&self->wake_tasks);
  self->wake_tasks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);

      if (self->state == CAIRN_CONTROL_STATE_RUNNING)
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_new_error (task, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_FAILED,
                                 "Instance %s did not start (%s)", self->id,
                                 state_names[self->state]);
    }
}

/* Starts an idle-exited instance again and completes once it owns its bus
 * name; a running one completes at once. A stopped, broken or restarting
 * one is not woken: that is the user's or the supervisor's decision. */
void
cairn_control_instance_wake_async (CairnControlInstance *self,
                                   GAsyncReadyCallback   callback,
                                   gpointer              data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, data);

  g_task_set_source_tag (task, cairn_control_instance_wake_async);
  if (self->idle_exiting)
    self->wake_pending = TRUE;
  else if (self->state == CAIRN_CONTROL_STATE_IDLE_EXITED)
    start_process (self);
  else if (self->state != CAIRN_CONTROL_STATE_STARTING)
    {
      if (self->state == CAIRN_CONTROL_STATE_RUNNING)
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_new_error (task, CAIRN_AGENT_ERROR, CAIRN_AGENT_ERROR_FAILED,
                                 "Instance %s is not running (%s)", self->id,
                                 state_names[self->state]);
      return;
    }
  g_ptr_array_add (self->wake_tasks, g_steal_pointer (&task));
  complete_wakes (self);
}

gboolean
cairn_control_instance_wake_finish (CairnControlInstance  *self,
                                    GAsyncResult          *result,
                                    GError               **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* A client waits on the instance through the service: it stays up. */
void
cairn_control_instance_hold (CairnControlInstance *self)
{
  self->holds++;
  update_idle_timer (self);
}

void
cairn_control_instance_release (CairnControlInstance *self)
{
  g_return_if_fail (self->holds > 0);

  self->holds--;
  update_idle_timer (self);
}
