/*
 * brp_set_log_callback, from C: a pose client that cannot connect (nothing
 * listens on 127.0.0.1:1; reconnect off) logs a warning with the reason,
 * target "brp::pose", to the callback; messages above max_level are not
 * delivered; freeing the client logs "stopped" at INFO on the freeing
 * thread; the URL's query (a token) is not logged; a callback cannot set
 * the callback (refused, no deadlock); an invalid max_level is refused;
 * after clearing, nothing more arrives.
 *
 * Under the sanitizers in scripts/test-cpp.
 */

#define _POSIX_C_SOURCE 200809L

#include <brp.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "support.h"

/* What the callback saw. */
struct seen {
  atomic_int total;
  atomic_int refused_warning;  /* WARN, brp::pose, "cannot connect: " ... */
  atomic_int bad_target;       /* a target other than brp::pose */
  atomic_int above_level;      /* a level above the max_level set */
  atomic_int stopped_info;     /* INFO, "...: stopped" */
  atomic_int nested_status;    /* brp_set_log_callback from inside: its status */
  atomic_int secret;           /* the URL's query showed */
  int max_level;               /* as set; read-only while set */
};

static void on_log(void *user_data, int level, const char *target, const char *message) {
  struct seen *seen = user_data;
  atomic_fetch_add(&seen->total, 1);
  if (strcmp(target, "brp::pose") != 0) atomic_fetch_add(&seen->bad_target, 1);
  if (level < BRP_LOG_LEVEL_ERROR || level > seen->max_level) {
    atomic_fetch_add(&seen->above_level, 1);
  }
  if (level == BRP_LOG_LEVEL_WARN && strstr(message, "ws://127.0.0.1:1/: cannot connect: ") &&
      strstr(message, "not reconnecting (reconnect is off)")) {
    atomic_fetch_add(&seen->refused_warning, 1);
  }
  if (strstr(message, "s3cret")) atomic_fetch_add(&seen->secret, 1);
  size_t len = strlen(message);
  if (level == BRP_LOG_LEVEL_INFO && len >= 9 && strcmp(message + len - 9, ": stopped") == 0) {
    atomic_fetch_add(&seen->stopped_info, 1);
  }
  atomic_store(&seen->nested_status, (int)brp_set_log_callback(NULL, NULL, BRP_LOG_LEVEL_OFF));
}

static void sleep_ms(long ms) {
  struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&delay, NULL);
}

/* Starts a client that cannot connect and waits until it gives up. */
static brp_pose_client *refused_client(brp_app *app) {
  brp_pose_client *client = NULL;
  CHECK(brp_pose_client_start(app, "{\"url\": \"ws://127.0.0.1:1/?token=s3cret\", \"reconnect\": false}",
                              &client) == BRP_STATUS_OK);
  if (client == NULL) return NULL;
  int stopped = 0;
  for (long waited = 0; !stopped && waited < BRP_TEST_HANG_MS; waited += 5) {
    char *json = NULL;
    CHECK(brp_pose_client_stats(client, &json) == BRP_STATUS_OK);
    stopped = json != NULL && strstr(json, "\"state\":\"stopped\"") != NULL;
    brp_string_free(json);
    if (!stopped) sleep_ms(5);
  }
  CHECK(stopped);
  return client;
}

int main(void) {
  brp_app *app = NULL;
  CHECK(brp_app_new(NULL, &app) == BRP_STATUS_OK);
  static struct seen seen;

  /* Warnings and errors only: the refusal arrives, "connecting" (DEBUG)
   * and "stopped" (INFO) do not. */
  seen.max_level = BRP_LOG_LEVEL_WARN;
  CHECK(brp_set_log_callback(on_log, &seen, BRP_LOG_LEVEL_WARN) == BRP_STATUS_OK);
  brp_pose_client_free(refused_client(app));
  CHECK(atomic_load(&seen.refused_warning) == 1);
  CHECK(atomic_load(&seen.total) == 1);
  CHECK(atomic_load(&seen.stopped_info) == 0);
  CHECK(atomic_load(&seen.nested_status) == BRP_STATUS_LOG_UNAVAILABLE);

  /* Up to INFO: freeing the client logs "stopped" on this thread. */
  seen.max_level = BRP_LOG_LEVEL_INFO;
  CHECK(brp_set_log_callback(on_log, &seen, BRP_LOG_LEVEL_INFO) == BRP_STATUS_OK);
  brp_pose_client_free(refused_client(app));
  CHECK(atomic_load(&seen.refused_warning) == 2);
  CHECK(atomic_load(&seen.stopped_info) == 1);
  CHECK(atomic_load(&seen.bad_target) == 0);
  CHECK(atomic_load(&seen.above_level) == 0);
  CHECK(atomic_load(&seen.secret) == 0);

  /* A bad level is refused and changes nothing. */
  CHECK(brp_set_log_callback(on_log, &seen, 6) == BRP_STATUS_INVALID_CONFIG);
  CHECK(strstr(brp_last_error_message(), "max_level must be 0 (off) to 5") != NULL);
  CHECK(brp_set_log_callback(on_log, &seen, -1) == BRP_STATUS_INVALID_CONFIG);

  /* Cleared: nothing more arrives. */
  CHECK(brp_set_log_callback(NULL, NULL, BRP_LOG_LEVEL_TRACE) == BRP_STATUS_OK);
  int before = atomic_load(&seen.total);
  brp_pose_client_free(refused_client(app));
  CHECK(atomic_load(&seen.total) == before);

  /* BRP_LOG_LEVEL_OFF with a callback is off too. */
  CHECK(brp_set_log_callback(on_log, &seen, BRP_LOG_LEVEL_OFF) == BRP_STATUS_OK);
  brp_pose_client_free(refused_client(app));
  CHECK(atomic_load(&seen.total) == before);

  brp_app_free(app);
  return brp_test_summary("log_callback");
}
