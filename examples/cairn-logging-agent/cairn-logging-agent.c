/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An agent plugin that writes one line per observer callback, to standard
 * output or to the file named by its configuration key log-file:
 *
 *   [Agent]
 *   Type=logging
 *   log-file=/tmp/changes.log
 *
 * Run it with `cairn-agent-host --instance ID`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cairn/cairn.h>

#define CAIRN_TYPE_LOGGING_AGENT (cairn_logging_agent_get_type ())
G_DECLARE_FINAL_TYPE (CairnLoggingAgent, cairn_logging_agent, CAIRN, LOGGING_AGENT, CairnAgent)

struct _CairnLoggingAgent
{
  CairnAgent parent_instance;

  char *log_file;
  FILE *stream;
};

enum {
  PROP_0,
  PROP_LOG_FILE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void cairn_logging_agent_observer_init (CairnObserverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CairnLoggingAgent, cairn_logging_agent, CAIRN_TYPE_AGENT,
                               G_IMPLEMENT_INTERFACE (CAIRN_TYPE_OBSERVER,
                                                      cairn_logging_agent_observer_init))

/* Opens the configured log file (standard output if none) instead of the
 * current one. */
static gboolean
open_log (CairnLoggingAgent  *self,
          GError            **error)
{
  FILE *stream = stdout;

  if (self->log_file != NULL && *self->log_file != '\0')
    {
      stream = fopen (self->log_file, "a");
      if (stream == NULL)
        {
          int saved_errno = errno;

          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                       "Cannot open log file %s: %s", self->log_file, g_strerror (saved_errno));
          return FALSE;
        }
    }
  if (self->stream != NULL && self->stream != stdout)
    fclose (self->stream);
  self->stream = stream;
  return TRUE;
}

static void
log_line (CairnObserver *observer,
          CairnMonitor  *monitor,
          const char    *format,
          ...) G_GNUC_PRINTF (3, 4);

/* Writes one line, flushed, and marks the change processed. */
static void
log_line (CairnObserver *observer,
          CairnMonitor  *monitor,
          const char    *format,
          ...)
{
  CairnLoggingAgent *self = CAIRN_LOGGING_AGENT (observer);
  va_list args;

  va_start (args, format);
  vfprintf (self->stream, format, args);
  va_end (args);
  fputc ('\n', self->stream);
  fflush (self->stream);

  cairn_change_recorder_change_processed (CAIRN_CHANGE_RECORDER (monitor));
}

static char *
join_ids (GPtrArray *changes)
{
  g_autoptr(GString) ids = g_string_new (NULL);

  for (guint i = 0; i < changes->len; i++)
    g_string_append_printf (ids, "%s%" G_GUINT64_FORMAT, i ? "," : "",
                            cairn_change_get_entity_id (g_ptr_array_index (changes, i)));
  return g_string_free (g_steal_pointer (&ids), FALSE);
}

static char *
join_flags (const CairnFlags *flags)
{
  g_autoptr(GString) names = g_string_new (NULL);

  for (guint i = 0; i < cairn_flags_get_size (flags); i++)
    g_string_append_printf (names, "%s%s", i ? "," : "", cairn_flags_get_flag (flags, i));
  return g_string_free (g_steal_pointer (&names), FALSE);
}

static void
item_added (CairnObserver *o, CairnMonitor *m, CairnChange *c, CairnItem *item)
{
  log_line (o, m, "item-added %" G_GUINT64_FORMAT " collection %" G_GUINT64_FORMAT
            " remote-id %s", cairn_change_get_entity_id (c), cairn_change_get_collection_id (c),
            cairn_change_get_remote_id (c) ? cairn_change_get_remote_id (c) : "-");
}

static void
item_changed (CairnObserver *o, CairnMonitor *m, CairnChange *c, CairnItem *item,
              const char * const *parts)
{
  g_autofree char *names = g_strjoinv (",", (char **) parts);

  log_line (o, m, "item-changed %" G_GUINT64_FORMAT " parts %s",
            cairn_change_get_entity_id (c), names);
}

static void
items_flags_changed (CairnObserver *o, CairnMonitor *m, GPtrArray *changes,
                     const CairnFlags *added, const CairnFlags *removed)
{
  g_autofree char *ids = join_ids (changes);
  g_autofree char *plus = join_flags (added);
  g_autofree char *minus = join_flags (removed);

  log_line (o, m, "items-flags-changed %s added %s removed %s", ids, plus, minus);
}

static void
item_moved (CairnObserver *o, CairnMonitor *m, CairnChange *c, CairnItem *item,
            guint64 source, guint64 destination)
{
  log_line (o, m, "item-moved %" G_GUINT64_FORMAT " from %" G_GUINT64_FORMAT " to %"
            G_GUINT64_FORMAT, cairn_change_get_entity_id (c), source, destination);
}

static void
item_removed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  log_line (o, m, "item-removed %" G_GUINT64_FORMAT, cairn_change_get_entity_id (c));
}

static void
items_added (CairnObserver *o, CairnMonitor *m, GPtrArray *changes, GPtrArray *items)
{
  g_autofree char *ids = join_ids (changes);

  log_line (o, m, "items-added %s", ids);
}

static void
items_moved (CairnObserver *o, CairnMonitor *m, GPtrArray *changes, guint64 source,
             guint64 destination)
{
  g_autofree char *ids = join_ids (changes);

  log_line (o, m, "items-moved %s from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT, ids,
            source, destination);
}

static void
items_removed (CairnObserver *o, CairnMonitor *m, GPtrArray *changes)
{
  g_autofree char *ids = join_ids (changes);

  log_line (o, m, "items-removed %s", ids);
}

static void
collection_added (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  log_line (o, m, "collection-added %" G_GUINT64_FORMAT " parent %" G_GUINT64_FORMAT,
            cairn_change_get_entity_id (c), cairn_change_get_collection_id (c));
}

static void
collection_changed (CairnObserver *o, CairnMonitor *m, CairnChange *c,
                    const char * const *parts)
{
  g_autofree char *names = g_strjoinv (",", (char **) parts);

  log_line (o, m, "collection-changed %" G_GUINT64_FORMAT " parts %s",
            cairn_change_get_entity_id (c), names);
}

static void
collection_moved (CairnObserver *o, CairnMonitor *m, CairnChange *c, guint64 source,
                  guint64 destination)
{
  log_line (o, m, "collection-moved %" G_GUINT64_FORMAT " from %" G_GUINT64_FORMAT " to %"
            G_GUINT64_FORMAT, cairn_change_get_entity_id (c), source, destination);
}

static void
collection_removed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  log_line (o, m, "collection-removed %" G_GUINT64_FORMAT, cairn_change_get_entity_id (c));
}

static void
tag_added (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  log_line (o, m, "tag-added %" G_GUINT64_FORMAT, cairn_change_get_entity_id (c));
}

static void
tag_changed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  log_line (o, m, "tag-changed %" G_GUINT64_FORMAT, cairn_change_get_entity_id (c));
}

static void
tag_removed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  log_line (o, m, "tag-removed %" G_GUINT64_FORMAT, cairn_change_get_entity_id (c));
}

static void
item_tags_changed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  log_line (o, m, "item-%s %" G_GUINT64_FORMAT " tag %" G_GUINT64_FORMAT,
            cairn_change_get_operation (c) == CAIRN_CHANGE_TAG ? "tagged" : "untagged",
            cairn_change_get_entity_id (c), cairn_change_get_related_id (c));
}

static void
relation_added (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  log_line (o, m, "relation-added %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
            cairn_change_get_entity_id (c), cairn_change_get_related_id (c));
}

static void
relation_removed (CairnObserver *o, CairnMonitor *m, CairnChange *c)
{
  log_line (o, m, "relation-removed %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
            cairn_change_get_entity_id (c), cairn_change_get_related_id (c));
}

static void
cairn_logging_agent_observer_init (CairnObserverInterface *iface)
{
  iface->item_added = item_added;
  iface->item_changed = item_changed;
  iface->items_flags_changed = items_flags_changed;
  iface->item_moved = item_moved;
  iface->item_removed = item_removed;
  iface->items_added = items_added;
  iface->items_moved = items_moved;
  iface->items_removed = items_removed;
  iface->collection_added = collection_added;
  iface->collection_changed = collection_changed;
  iface->collection_moved = collection_moved;
  iface->collection_removed = collection_removed;
  iface->tag_added = tag_added;
  iface->tag_changed = tag_changed;
  iface->tag_removed = tag_removed;
  iface->item_tags_changed = item_tags_changed;
  iface->relation_added = relation_added;
  iface->relation_removed = relation_removed;
}

static gboolean
cairn_logging_agent_setup (CairnAgent  *agent,
                           GError     **error)
{
  return open_log (CAIRN_LOGGING_AGENT (agent), error);
}

static void
cairn_logging_agent_finalize (GObject *object)
{
  CairnLoggingAgent *self = CAIRN_LOGGING_AGENT (object);

  if (self->stream != NULL && self->stream != stdout)
    fclose (self->stream);
  g_free (self->log_file);

  G_OBJECT_CLASS (cairn_logging_agent_parent_class)->finalize (object);
}

static void
cairn_logging_agent_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  CairnLoggingAgent *self = CAIRN_LOGGING_AGENT (object);

  switch (prop_id)
    {
    case PROP_LOG_FILE:
      g_value_set_string (value, self->log_file);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_logging_agent_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  CairnLoggingAgent *self = CAIRN_LOGGING_AGENT (object);
  g_autoptr(GError) error = NULL;

  switch (prop_id)
    {
    case PROP_LOG_FILE:
      if (g_strcmp0 (self->log_file, g_value_get_string (value)) == 0)
        break;
      g_free (self->log_file);
      self->log_file = g_value_dup_string (value);
      /* Before setup the file is opened there; after, a reconfiguration
       * switches files, and keeps the old one if the new one fails. */
      if (self->stream != NULL && !open_log (self, &error))
        cairn_agent_set_status (CAIRN_AGENT (self), CAIRN_AGENT_STATUS_BROKEN, error->message);
      g_object_notify_by_pspec (object, properties[PROP_LOG_FILE]);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cairn_logging_agent_class_init (CairnLoggingAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cairn_logging_agent_finalize;
  object_class->get_property = cairn_logging_agent_get_property;
  object_class->set_property = cairn_logging_agent_set_property;
  CAIRN_AGENT_CLASS (klass)->setup = cairn_logging_agent_setup;

  properties[PROP_LOG_FILE] =
    g_param_spec_string ("log-file", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cairn_logging_agent_init (CairnLoggingAgent *self)
{
}

CAIRN_AGENT_MODULE_DEFINE_TYPE (CAIRN_TYPE_LOGGING_AGENT);
