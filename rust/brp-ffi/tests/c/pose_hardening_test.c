/*
 * Hardening of the pose exports, from C.
 *
 * Always: brp_pose_push refuses the world's own hidden entity 0v0 (as GET
 * does) and landmark numbers beyond float, with messages that say what was
 * expected and quote no more than 80 characters of the frame; the JSON
 * config's ping_interval_ms and idle_timeout_ms are accepted or refused as
 * documented, and the stats count idle_timeouts.
 *
 * With a controller's URL in argv[1] (with_pose_controller.py runs the
 * reference controller): one thread stops the client while its callback
 * reads the client's stats, which the docs allow; that must not deadlock,
 * stop still waits for the callback, and stats after stop say "stopped".
 *
 * Under the sanitizers in scripts/test-cpp.
 */

#define _POSIX_C_SOURCE 200809L

#include <brp.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

static void sleep_ms(long ms) {
  struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&delay, NULL);
}

/* brp_pose_push of the text `frame` to `target_json`: the status, and
 * whether the last error message contains `needle` (NULL: any). */
static int push_fails(brp_app *app, const char *target_json, const char *frame,
                      const char *needle) {
  brp_status status = brp_pose_push(app, target_json, (const uint8_t *)frame, strlen(frame));
  const char *message = brp_last_error_message();
  int ok = status == BRP_STATUS_POSE_REJECTED && (needle == NULL || strstr(message, needle));
  if (!ok) fprintf(stderr, "  status %d, message: %s\n", (int)status, message);
  return ok;
}

static void hidden_entity(brp_app *app) {
  static const char FRAME[] =
      "{\"timestamp\": 1.5, \"landmarks\": [{\"x\": 0.25, \"y\": 0.5, \"z\": 0.0}]}";
  char not_found[32];
  snprintf(not_found, sizeof not_found, "(code %d)", BRP_ERROR_ENTITY_NOT_FOUND);
  char *response = NULL;
  CHECK(brp_request(app,
                    "{\"id\": 1, \"request\": \"GET\", \"params\": "
                    "{\"entity\": \"0v0\", \"components\": []}}",
                    &response) == BRP_STATUS_OK);
  CHECK(brp_test_error_code(response) == BRP_ERROR_ENTITY_NOT_FOUND); /* GET hides it */
  brp_string_free(response);

  /* FRAME has one landmark: the target takes any count (33 by default). */
  static const char TARGET[] = "{\"entity\": \"0v0\", \"landmark_count\": null}";
  CHECK(push_fails(app, TARGET, FRAME, "entity 0v0 does not exist"));
  CHECK(push_fails(app, TARGET, FRAME, not_found));
  CHECK(push_fails(app, "{\"entity\": \"0v0\"}", "{\"Empty\": {}}", not_found));
}

static void numbers_and_messages(brp_app *app) {
  /* Frames of one landmark or none: a target that takes any count. */
  static const char ANY[] = "{\"landmark_count\": null}";
  char invalid[32];
  snprintf(invalid, sizeof invalid, "(code %d)", BRP_ERROR_INVALID_PARAMS);
  CHECK(push_fails(app, ANY,
                   "{\"timestamp\": 1, \"landmarks\": [{\"x\": 1e300, \"y\": 0, \"z\": 0}]}",
                   "landmarks[0].x: 1e+300 is out of range for a 32-bit float"));
  CHECK(push_fails(app, ANY,
                   "{\"timestamp\": 1, \"landmarks\": [{\"x\": 0, \"y\": 0, \"z\": 0, "
                   "\"availability\": {\"visibility\": -1e39}}]}",
                   invalid));

  char *response = NULL;
  CHECK(brp_request(app,
                    "{\"id\": 1, \"request\": \"QUERY\", \"params\": {\"data\": "
                    "{\"components\": [\"PoseLandmarks\"]}}}",
                    &response) == BRP_STATUS_OK);
  CHECK(response != NULL && strstr(response, "\"entities\":[]") != NULL); /* nothing stored */
  brp_string_free(response);

  /* An empty frame: one line, no trailing newlines. */
  CHECK(brp_pose_push(app, NULL, (const uint8_t *)"", 0) == BRP_STATUS_POSE_REJECTED);
  CHECK(strstr(brp_last_error_message(), "the frame is empty (0 bytes)") != NULL);
  CHECK(strchr(brp_last_error_message(), '\n') == NULL);

  CHECK(push_fails(app, NULL, "[]", "expected a JSON object"));
  CHECK(push_fails(app, NULL, "[]", "got a list"));

  /* A 10000-character string in the frame is not echoed. */
  enum { LONG = 10000 };
  char *frame = malloc(LONG + 64);
  CHECK(frame != NULL);
  if (frame == NULL) return;
  strcpy(frame, "{\"timestamp\": \"");
  size_t at = strlen(frame);
  memset(frame + at, 'y', LONG);
  strcpy(frame + at + LONG, "\", \"landmarks\": []}");
  CHECK(push_fails(app, ANY, frame, "timestamp: expected a number, got a string"));
  CHECK(strlen(brp_last_error_message()) < 300);
  free(frame);
}

static void idle_settings(brp_app *app) {
  brp_pose_client *client = NULL;
  char *json = NULL;
  CHECK(brp_pose_client_start(app,
                              "{\"url\": \"ws://127.0.0.1:1\", \"ping_interval_ms\": 50, "
                              "\"idle_timeout_ms\": 300}",
                              &client) == BRP_STATUS_OK);
  CHECK(brp_pose_client_stats(client, &json) == BRP_STATUS_OK);
  CHECK(json != NULL && strstr(json, "\"idle_timeouts\":0") != NULL);
  brp_string_free(json);
  brp_pose_client_free(client);

  client = NULL;
  CHECK(brp_pose_client_start(app,
                              "{\"url\": \"ws://127.0.0.1:1\", \"ping_interval_ms\": 0, "
                              "\"idle_timeout_ms\": 0}",
                              &client) == BRP_STATUS_OK);
  brp_pose_client_free(client);

  CHECK(brp_pose_client_start(app,
                              "{\"url\": \"ws://127.0.0.1:1\", \"ping_interval_ms\": 300, "
                              "\"idle_timeout_ms\": 300}",
                              &client) == BRP_STATUS_INVALID_CONFIG);
  CHECK(strstr(brp_last_error_message(), "ping_interval_ms must be shorter than idle_timeout_ms"));
  CHECK(brp_pose_client_start(app, "{\"url\": \"ws://127.0.0.1:1\", \"idle_timeout_ms\": -1}",
                              &client) == BRP_STATUS_INVALID_CONFIG);
}

/* What the callback and the stopping thread share. */
struct stopping {
  _Atomic(brp_pose_client *) client; /* NULL until the handle is known */
  atomic_int entered;                /* the callback holds a frame */
  atomic_int stopping;               /* the stopper is calling stop */
  atomic_int stats_ok;               /* the callback's stats call worked */
  atomic_int returned;               /* the callback returned */
  atomic_int stop_status;
  atomic_int returned_before_stop; /* the callback had returned when stop did */
  atomic_int stopped;              /* stop returned */
};

static void on_frame(void *user_data, const char *event_json) {
  struct stopping *s = user_data;
  (void)event_json;
  brp_pose_client *client = atomic_load(&s->client);
  if (client == NULL || atomic_exchange(&s->entered, 1)) return;
  /* Hold this frame until another thread is stopping the client, and give
   * it a moment to reach brp_pose_client_stop's wait for this frame. */
  for (long waited = 0; !atomic_load(&s->stopping) && waited < BRP_TEST_HANG_MS; waited += 1) {
    sleep_ms(1);
  }
  sleep_ms(100);
  char *json = NULL;
  brp_status status = brp_pose_client_stats(client, &json);
  atomic_store(&s->stats_ok,
               status == BRP_STATUS_OK && json != NULL && strstr(json, "\"frames_applied\":"));
  brp_string_free(json);
  atomic_store(&s->returned, 1);
}

static void *stopper(void *arg) {
  struct stopping *s = arg;
  atomic_store(&s->stopping, 1);
  atomic_store(&s->stop_status, (int)brp_pose_client_stop(atomic_load(&s->client)));
  atomic_store(&s->returned_before_stop, atomic_load(&s->returned));
  atomic_store(&s->stopped, 1);
  return NULL;
}

static void stop_while_the_callback_reads_stats(brp_app *app, const char *url) {
  char config[256];
  snprintf(config, sizeof config, "{\"url\": \"%s\"}", url);
  static struct stopping s; /* zero: no client yet */
  brp_pose_client *client = NULL;
  CHECK(brp_pose_client_start_with_callback(app, config, on_frame, &s, &client) ==
        BRP_STATUS_OK);
  if (client == NULL) return;
  atomic_store(&s.client, client);
  for (long waited = 0; !atomic_load(&s.entered) && waited < BRP_TEST_HANG_MS; waited += 5) {
    sleep_ms(5);
  }
  CHECK(atomic_load(&s.entered));

  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, stopper, &s) == 0);
  for (long waited = 0; !atomic_load(&s.stopped) && waited < BRP_TEST_HANG_MS; waited += 5) {
    sleep_ms(5);
  }
  if (!atomic_load(&s.stopped)) {
    /* Deadlocked: the threads cannot be joined; end here. */
    fprintf(stderr, "pose_hardening: brp_pose_client_stop never returned (deadlock)\n");
    fflush(stderr);
    _exit(1);
  }
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK(atomic_load(&s.stop_status) == BRP_STATUS_OK);
  CHECK(atomic_load(&s.stats_ok));
  CHECK(atomic_load(&s.returned_before_stop)); /* stop waited for the callback */

  char *json = NULL;
  CHECK(brp_pose_client_stats(client, &json) == BRP_STATUS_OK);
  CHECK(json != NULL && strstr(json, "\"state\":\"stopped\"") != NULL);
  brp_string_free(json);
  brp_pose_client_free(client);
}

int main(int argc, char **argv) {
  brp_app *app = NULL;
  CHECK(brp_app_new(NULL, &app) == BRP_STATUS_OK);
  hidden_entity(app);
  numbers_and_messages(app);
  idle_settings(app);
  if (argc > 1) stop_while_the_callback_reads_stats(app, argv[1]);
  brp_app_free(app);
  return brp_test_summary(argc > 1 ? "pose_stop" : "pose_hardening");
}
