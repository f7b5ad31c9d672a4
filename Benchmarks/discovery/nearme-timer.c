// nearme-timer: times from a Manager call (SignIn/SignOut "near-me") on one daemon's bus to a
// peer object appearing (InterfacesAdded) or going (InterfacesRemoved) on another daemon's bus.
//
//   nearme-timer --watch ADDR --call ADDR --method SignIn --expect added --peer NAME [--timeout-ms N]
//
// It subscribes on the watched bus first (AddMatch is a method call: its reply is awaited, so
// the match is in force before the timed call is sent), then sends the call without waiting,
// and polls both connections; the clock stops when the signal for /org/peercollab/PeerCollab1/
// peer/NAME is read. Prints one JSON line: {"ms": ..., "reply_ms": ...} or {"error": ...}.
// Both buses may be the same address. Exit status 0 on success, 1 on a timeout or error.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

static const char *service = "org.peercollab.PeerCollab1";
static const char *root = "/org/peercollab/PeerCollab1";

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct state {
    char expected_path[512];
    double start;
    double seen;
    double replied;
    int reply_error;
    char error_text[256];
};

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
    (void)error;
    struct state *s = userdata;
    const char *path = NULL;
    if (sd_bus_message_read(m, "o", &path) < 0 || path == NULL) return 0;
    if (s->seen == 0 && strcmp(path, s->expected_path) == 0) s->seen = now_ms();
    return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
    (void)error;
    struct state *s = userdata;
    s->replied = now_ms();
    const sd_bus_error *e = sd_bus_message_get_error(m);
    if (e) {
        s->reply_error = 1;
        snprintf(s->error_text, sizeof s->error_text, "%s: %s", e->name, e->message ? e->message : "");
    }
    return 0;
}

static int open_bus(const char *address, sd_bus **out) {
    sd_bus *bus = NULL;
    int r = sd_bus_new(&bus);
    if (r < 0) return r;
    if ((r = sd_bus_set_address(bus, address)) < 0 || (r = sd_bus_set_bus_client(bus, 1)) < 0 ||
        (r = sd_bus_start(bus)) < 0) {
        sd_bus_unref(bus);
        return r;
    }
    *out = bus;
    return 0;
}

static void fail(const char *what, int r) {
    printf("{\"error\": \"%s: %s\"}\n", what, strerror(-r));
    exit(1);
}

int main(int argc, char **argv) {
    const char *watch = NULL, *call = NULL, *method = "SignIn", *expect = "added", *peer = NULL, *scope = "near-me";
    long timeout_ms = 10000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--watch")) watch = argv[i + 1];
        else if (!strcmp(argv[i], "--call")) call = argv[i + 1];
        else if (!strcmp(argv[i], "--method")) method = argv[i + 1];
        else if (!strcmp(argv[i], "--expect")) expect = argv[i + 1];
        else if (!strcmp(argv[i], "--peer")) peer = argv[i + 1];
        else if (!strcmp(argv[i], "--scope")) scope = argv[i + 1];
        else if (!strcmp(argv[i], "--timeout-ms")) timeout_ms = atol(argv[i + 1]);
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    if (!watch || !call || !peer) {
        fprintf(stderr, "usage: %s --watch ADDR --call ADDR --peer NAME [--method SignIn|SignOut] "
                        "[--expect added|removed] [--scope near-me] [--timeout-ms N]\n", argv[0]);
        return 2;
    }
    struct state s = {0};
    snprintf(s.expected_path, sizeof s.expected_path, "%s/peer/%s", root, peer);
    const char *member = strcmp(expect, "removed") == 0 ? "InterfacesRemoved" : "InterfacesAdded";

    sd_bus *watched = NULL, *called = NULL;
    int r = open_bus(watch, &watched);
    if (r < 0) fail("connecting to the watched bus", r);
    int same = strcmp(watch, call) == 0;
    if (same) called = sd_bus_ref(watched);
    else if ((r = open_bus(call, &called)) < 0) fail("connecting to the called bus", r);

    char match[512];
    snprintf(match, sizeof match,
             "type='signal',sender='%s',path='%s',interface='org.freedesktop.DBus.ObjectManager',member='%s'",
             service, root, member);
    if ((r = sd_bus_add_match(watched, NULL, match, on_signal, &s)) < 0) fail("AddMatch", r);

    s.start = now_ms();
    r = sd_bus_call_method_async(called, NULL, service, root, "org.peercollab.PeerCollab1.Manager", method,
                                 on_reply, &s, "s", scope);
    if (r < 0) fail("sending the call", r);

    double deadline = s.start + timeout_ms;
    // Bounded: stops at the deadline whatever happens.
    while ((s.seen == 0 || s.replied == 0) && now_ms() < deadline) {
        int progressed = 0;
        while ((r = sd_bus_process(watched, NULL)) > 0) progressed = 1;
        if (r < 0) fail("reading the watched bus", r);
        if (!same) {
            while ((r = sd_bus_process(called, NULL)) > 0) progressed = 1;
            if (r < 0) fail("reading the called bus", r);
        }
        if (progressed) continue;
        struct pollfd fds[2] = {
            {.fd = sd_bus_get_fd(watched), .events = (short)sd_bus_get_events(watched)},
            {.fd = sd_bus_get_fd(called), .events = (short)sd_bus_get_events(called)},
        };
        int left = (int)(deadline - now_ms());
        if (left < 1) left = 1;
        poll(fds, same ? 1 : 2, left > 50 ? 50 : left);
    }
    if (s.reply_error) {
        printf("{\"error\": \"the call failed: %s\"}\n", s.error_text);
        return 1;
    }
    if (s.seen == 0) {
        printf("{\"error\": \"no %s for %s within %ld ms\", \"reply_ms\": %.3f}\n", member, s.expected_path, timeout_ms,
               s.replied ? s.replied - s.start : -1.0);
        return 1;
    }
    printf("{\"ms\": %.3f, \"reply_ms\": %.3f, \"start_mono_ms\": %.1f}\n", s.seen - s.start,
           s.replied ? s.replied - s.start : -1.0, s.start);
    sd_bus_flush_close_unref(watched);
    sd_bus_flush_close_unref(called);
    return 0;
}
