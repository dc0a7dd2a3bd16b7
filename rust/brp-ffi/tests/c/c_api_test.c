/*
 * Calls every export of brp.h, from C, with NULL and with invalid input,
 * and checks the status, the thread's last error message, and that
 * out-parameters are left alone on failure.
 */

#include <brp.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "support.h"

/* The status is `expected` and the last error message contains `needle`. */
#define CHECK_FAILS(call, expected, needle)                           \
  do {                                                                \
    brp_status status_ = (call);                                      \
    CHECK(status_ == (expected));                                     \
    CHECK(strstr(brp_last_error_message(), (needle)) != NULL);        \
    if (status_ != (expected)) fprintf(stderr, "  message: %s\n", brp_last_error_message()); \
  } while (0)

#define CHECK_OK(call)                                                \
  do {                                                                \
    CHECK((call) == BRP_STATUS_OK);                                   \
    CHECK(strcmp(brp_last_error_message(), "") == 0);                 \
  } while (0)

static const char *const INVALID_UTF8 = "{\"id\": 1, \xff}";
static const char *const PING = "{\"id\": 1, \"request\": \"PING\"}";

/* Whether `response` is a BRP response (not an error) and frees it. */
static int take_success(char *response) {
  int ok = response != NULL && strstr(response, "\"response\"") != NULL;
  brp_string_free(response);
  return ok;
}

static void version(void) {
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", BRP_VERSION_MAJOR, BRP_VERSION_MINOR,
           BRP_VERSION_PATCH);
  CHECK(strcmp(brp_version(), expected) == 0);
  CHECK(strcmp(brp_last_error_message(), "") == 0);
}

static void app_new(void) {
  brp_app *app = (brp_app *)&app; /* a sentinel: failures must not write it */
  brp_app *const sentinel = app;
  CHECK_FAILS(brp_app_new("", NULL), BRP_STATUS_NULL_ARGUMENT, "brp_app_new: out_app is NULL");
  CHECK_FAILS(brp_app_new("{\"components\": [", &app), BRP_STATUS_INVALID_CONFIG,
              "brp_app_new: invalid app config");
  CHECK_FAILS(brp_app_new("{\"bogus\": true}", &app), BRP_STATUS_INVALID_CONFIG, "bogus");
  CHECK_FAILS(brp_app_new("[1]", &app), BRP_STATUS_INVALID_CONFIG, "invalid app config");
  CHECK_FAILS(brp_app_new("{\"components\": [\"id\"]}", &app), BRP_STATUS_INVALID_CONFIG,
              "reserved");
  CHECK_FAILS(brp_app_new("{\"components\": [\"\xff\"]}", &app), BRP_STATUS_INVALID_UTF8,
              "brp_app_new: config_json is not valid UTF-8");
  CHECK(app == sentinel);

  CHECK_OK(brp_app_new(NULL, &app));
  brp_app_free(app);
  CHECK_OK(brp_app_new("null", &app));
  brp_app_free(app);
  CHECK_OK(brp_app_new("{\"components\": [\"Position\"], \"auto_declare\": true}", &app));
  brp_app_free(app);
  brp_app_free(NULL);
}

static void app_calls(brp_app *app) {
  CHECK_FAILS(brp_app_update(NULL), BRP_STATUS_NULL_ARGUMENT, "brp_app_update: app is NULL");
  CHECK_OK(brp_app_update(app));

  CHECK_FAILS(brp_app_register_component(NULL, "Position"), BRP_STATUS_NULL_ARGUMENT,
              "brp_app_register_component: app is NULL");
  CHECK_FAILS(brp_app_register_component(app, NULL), BRP_STATUS_NULL_ARGUMENT,
              "brp_app_register_component: name is NULL");
  CHECK_FAILS(brp_app_register_component(app, "Pos\xffition"), BRP_STATUS_INVALID_UTF8,
              "name is not valid UTF-8");
  CHECK_FAILS(brp_app_register_component(app, "id"), BRP_STATUS_INVALID_COMPONENT, "reserved");
  CHECK_FAILS(brp_app_register_component(app, "not a name"), BRP_STATUS_INVALID_COMPONENT,
              "identifier");
  CHECK_FAILS(brp_app_register_component(app, "Transform"), BRP_STATUS_INVALID_COMPONENT,
              "Transform");
  CHECK_OK(brp_app_register_component(app, "Position"));
  CHECK_OK(brp_app_register_component(app, "Position"));
}

static void requests(brp_app *app) {
  char *response = (char *)&response; /* a sentinel: failures must not write it */
  char *const sentinel = response;
  CHECK_FAILS(brp_request(NULL, PING, &response), BRP_STATUS_NULL_ARGUMENT,
              "brp_request: app is NULL");
  CHECK_FAILS(brp_request(app, NULL, &response), BRP_STATUS_NULL_ARGUMENT,
              "brp_request: request_json is NULL");
  CHECK_FAILS(brp_request(app, PING, NULL), BRP_STATUS_NULL_ARGUMENT,
              "brp_request: out_response is NULL");
  CHECK_FAILS(brp_request(app, INVALID_UTF8, &response), BRP_STATUS_INVALID_UTF8,
              "brp_request: request_json is not valid UTF-8");
  CHECK(response == sentinel);

  /* Protocol errors are successful calls answering an error response. */
  CHECK_OK(brp_request(app, "not json", &response));
  CHECK(brp_test_error_code(response) == BRP_ERROR_PARSE_ERROR);
  brp_string_free(response);
  CHECK_OK(brp_request(app,
                       "{\"id\": 2, \"request\": \"GET\", \"params\": "
                       "{\"entity\": \"99v0\", \"components\": [\"Position\"]}}",
                       &response));
  CHECK(brp_test_error_code(response) == BRP_ERROR_ENTITY_NOT_FOUND);
  brp_string_free(response);

  CHECK_OK(brp_request(app, PING, &response));
  CHECK(take_success(response));
  brp_string_free(NULL);
}

static void record(void *user_data, const char *response_json) {
  (void)response_json;
  ++*(int *)user_data;
}

static void async_sessions(brp_app *app) {
  brp_session *session = NULL;
  char *response = (char *)&response; /* a sentinel */
  char *const sentinel = response;
  bool found = true;
  int calls = 0;
  CHECK_OK(brp_session_new(app, &session));

  CHECK_FAILS(brp_session_submit(NULL, PING), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_submit: session is NULL");
  CHECK_FAILS(brp_session_submit(session, NULL), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_submit: request_json is NULL");
  CHECK_FAILS(brp_session_submit(session, INVALID_UTF8), BRP_STATUS_INVALID_UTF8,
              "brp_session_submit: request_json is not valid UTF-8");

  CHECK_FAILS(brp_session_receive(NULL, 0, &response), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_receive: session is NULL");
  CHECK_FAILS(brp_session_receive(session, 0, NULL), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_receive: out_response is NULL");
  CHECK_FAILS(brp_session_receive(session, 0, &response), BRP_STATUS_TIMEOUT,
              "brp_session_receive: no response within 0 ms");
  CHECK(response == sentinel);

  /* A malformed submission still gets its (error) response. */
  CHECK_OK(brp_session_submit(session, "not json"));
  CHECK_OK(brp_session_receive(session, -1, &response));
  CHECK(brp_test_error_code(response) == BRP_ERROR_PARSE_ERROR);
  brp_string_free(response);
  CHECK_OK(brp_session_submit(session, PING));
  CHECK_OK(brp_session_receive(session, INT64_MAX, &response));
  CHECK(take_success(response));

  CHECK_FAILS(brp_session_set_callback(NULL, record, &calls), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_set_callback: session is NULL");
  CHECK_OK(brp_session_set_callback(session, record, &calls));
  CHECK_OK(brp_session_submit(session, PING));
  CHECK(calls == 1); /* answered at once, on this thread */
  CHECK_OK(brp_session_set_callback(session, NULL, NULL));
  CHECK_OK(brp_session_submit(session, PING));
  CHECK(calls == 1);
  CHECK_OK(brp_session_receive(session, 1000, &response));
  CHECK(take_success(response));

  CHECK_FAILS(brp_session_cancel(NULL, 1, &found), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_cancel: session is NULL");
  CHECK_FAILS(brp_session_cancel(session, 1, NULL), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_cancel: out_found is NULL");
  CHECK(found);
  CHECK_OK(brp_session_cancel(session, 1, &found));
  CHECK(!found);

  CHECK_FAILS(brp_session_close(NULL), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_close: session is NULL");
  CHECK_OK(brp_session_close(session));
  CHECK_FAILS(brp_session_receive(session, -1, &response), BRP_STATUS_CLOSED,
              "brp_session_receive: the session is closed");
  /* A timeout too long for the clock is for ever: still CLOSED at once. */
  CHECK_FAILS(brp_session_receive(session, INT64_MAX, &response), BRP_STATUS_CLOSED,
              "brp_session_receive: the session is closed");
  brp_session_free(session);
}

static void pose(brp_app *app) {
  static const char FRAME[] =
      "{\"timestamp\": 1.5, \"landmarks\": [{\"x\": 0.25, \"y\": 0.5, \"z\": 0.0}]}";
  static const unsigned char GARBAGE[] = {0x00, 0x01, 0xff, 0x07, 0x00};
  brp_pose_client *client = (brp_pose_client *)&client; /* a sentinel */
  brp_pose_client *const sentinel = client;
  char *json = NULL;
  char not_found[32]; /* how a failure message carries the code */
  snprintf(not_found, sizeof not_found, "(code %d)", BRP_ERROR_ENTITY_NOT_FOUND);

  CHECK_FAILS(brp_pose_push(NULL, NULL, (const uint8_t *)FRAME, strlen(FRAME)),
              BRP_STATUS_NULL_ARGUMENT, "brp_pose_push: app is NULL");
  CHECK_FAILS(brp_pose_push(app, NULL, NULL, 0), BRP_STATUS_NULL_ARGUMENT,
              "brp_pose_push: bytes is NULL");
  CHECK_FAILS(brp_pose_push(app, "{\"name\": \"\xff\"}", (const uint8_t *)FRAME, strlen(FRAME)),
              BRP_STATUS_INVALID_UTF8, "brp_pose_push: target_json is not valid UTF-8");
  CHECK_FAILS(brp_pose_push(app, "{\"bogus\": 1}", (const uint8_t *)FRAME, strlen(FRAME)),
              BRP_STATUS_INVALID_CONFIG, "invalid pose target");
  CHECK_FAILS(brp_pose_push(app, NULL, GARBAGE, sizeof GARBAGE), BRP_STATUS_POSE_REJECTED,
              "brp_pose_push: ");
  CHECK_FAILS(brp_pose_push(app, NULL, GARBAGE, 0), BRP_STATUS_POSE_REJECTED, "brp_pose_push: ");
  CHECK_FAILS(brp_pose_push(app, "{\"entity\": \"99v0\", \"landmark_count\": null}",
                            (const uint8_t *)FRAME, strlen(FRAME)),
              BRP_STATUS_POSE_REJECTED, not_found);

  /* FRAME has one landmark: a target that takes any count (33 by default). */
  CHECK_FAILS(brp_pose_push(app, NULL, (const uint8_t *)FRAME, strlen(FRAME)),
              BRP_STATUS_POSE_REJECTED, "expected 33 landmarks");
  CHECK_OK(brp_pose_push(app, "{\"landmark_count\": null}", (const uint8_t *)FRAME, strlen(FRAME)));
  CHECK_OK(brp_pose_push(app, "{\"name\": \"Player\", \"landmark_count\": null}",
                         (const uint8_t *)FRAME, strlen(FRAME)));
  CHECK_OK(brp_request(app,
                       "{\"id\": 1, \"request\": \"QUERY\", \"params\": {\"data\": "
                       "{\"components\": [\"Name\", \"PoseLandmarks\"]}}}",
                       &json));
  CHECK(strstr(json, "Player") != NULL && strstr(json, "0.25") != NULL);
  brp_string_free(json);
  json = NULL;

  CHECK_FAILS(brp_pose_client_start(NULL, "{\"url\": \"ws://127.0.0.1:1\"}", &client),
              BRP_STATUS_NULL_ARGUMENT, "brp_pose_client_start: app is NULL");
  CHECK_FAILS(brp_pose_client_start(app, NULL, &client), BRP_STATUS_NULL_ARGUMENT,
              "brp_pose_client_start: config_json is NULL");
  CHECK_FAILS(brp_pose_client_start(app, "{\"url\": \"ws://127.0.0.1:1\"}", NULL),
              BRP_STATUS_NULL_ARGUMENT, "brp_pose_client_start: out_client is NULL");
  CHECK_FAILS(brp_pose_client_start(app, "{\"url\": \"\xff\"}", &client), BRP_STATUS_INVALID_UTF8,
              "config_json is not valid UTF-8");
  CHECK_FAILS(brp_pose_client_start(app, "{\"url\": ", &client), BRP_STATUS_INVALID_CONFIG,
              "invalid pose client config");
  CHECK_FAILS(brp_pose_client_start(app, "{\"url\": \"ws://a\", \"bogus\": 1}", &client),
              BRP_STATUS_INVALID_CONFIG, "bogus");
  CHECK_FAILS(brp_pose_client_start(app, "{\"url\": \"http://127.0.0.1:1\"}", &client),
              BRP_STATUS_INVALID_CONFIG, "brp_pose_client_start: ");
  CHECK(client == sentinel);

  /* Nothing listens on port 1: the client starts and keeps retrying. */
  CHECK_OK(brp_pose_client_start(app, "{\"url\": \"ws://127.0.0.1:1\"}", &client));
  CHECK_FAILS(brp_pose_client_stats(NULL, &json), BRP_STATUS_NULL_ARGUMENT,
              "brp_pose_client_stats: client is NULL");
  CHECK_FAILS(brp_pose_client_stats(client, NULL), BRP_STATUS_NULL_ARGUMENT,
              "brp_pose_client_stats: out_json is NULL");
  CHECK(json == NULL);
  CHECK_OK(brp_pose_client_stats(client, &json));
  CHECK(json != NULL && strstr(json, "\"frames_applied\":0") != NULL);
  brp_string_free(json);
  CHECK_FAILS(brp_pose_client_stop(NULL), BRP_STATUS_NULL_ARGUMENT,
              "brp_pose_client_stop: client is NULL");
  CHECK_OK(brp_pose_client_stop(client));
  CHECK_OK(brp_pose_client_stop(client));
  CHECK_OK(brp_pose_client_stats(client, &json));
  CHECK(strstr(json, "\"state\":\"stopped\"") != NULL);
  brp_string_free(json);
  brp_pose_client_free(client);
  brp_pose_client_free(NULL);

  /* Freed without stopping first. */
  CHECK_OK(brp_pose_client_start(app, "{\"url\": \"ws://127.0.0.1:1\"}", &client));
  brp_pose_client_free(client);
}

static void sessions(brp_app *app) {
  brp_session *session = (brp_session *)&session; /* a sentinel */
  brp_session *const sentinel = session;
  char *response = NULL;
  CHECK_FAILS(brp_session_new(NULL, &session), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_new: app is NULL");
  CHECK_FAILS(brp_session_new(app, NULL), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_new: out_session is NULL");
  CHECK(session == sentinel);
  CHECK_OK(brp_session_new(app, &session));

  CHECK_FAILS(brp_session_request(NULL, PING, &response), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_request: session is NULL");
  CHECK_FAILS(brp_session_request(session, NULL, &response), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_request: request_json is NULL");
  CHECK_FAILS(brp_session_request(session, PING, NULL), BRP_STATUS_NULL_ARGUMENT,
              "brp_session_request: out_response is NULL");
  CHECK_FAILS(brp_session_request(session, INVALID_UTF8, &response), BRP_STATUS_INVALID_UTF8,
              "brp_session_request: request_json is not valid UTF-8");
  CHECK(response == NULL);

  CHECK_OK(brp_session_request(session, PING, &response));
  CHECK(take_success(response));
  brp_session_free(NULL);

  /* The session keeps the world alive after its app is freed. */
  brp_app_free(app);
  CHECK_OK(brp_session_request(session, PING, &response));
  CHECK(take_success(response));
  brp_session_free(session);
}

int main(void) {
  brp_app *app = NULL;
  version();
  app_new();
  CHECK_OK(brp_app_new(NULL, &app));
  app_calls(app);
  requests(app);
  async_sessions(app);
  pose(app);
  sessions(app); /* frees app */
  return brp_test_summary("c_api");
}
