/*
 * baseline-service: the smallest sd-bus service that answers what the
 * peercollab daemon's D-Bus benchmark asks of it, so the daemon's figures
 * can be put next to a C yardstick measured on the same bus in the same run.
 *
 * It owns a bus name, exports one object with a const read-only `Version`
 * property (s) and a no-op method `Noop` on a given interface, and answers
 * org.freedesktop.DBus.Peer.Ping (sd-bus does that for every object path).
 * Once the name is owned it prints "READY" on stdout and sends READY=1 to
 * $NOTIFY_SOCKET (if set), so the same harness can time its start. If
 * $WATCHDOG_USEC is set, sd-event sends the watchdog pings on its own.
 *
 * Usage: baseline-service [--bus ADDRESS] [--name NAME] [--path PATH]
 *                         [--interface IFACE] [--version-string S]
 * Without --bus it connects to the session bus ($DBUS_SESSION_BUS_ADDRESS).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

static const char *version_string = "0.0.0-baseline";

static int get_version(sd_bus *bus, const char *path, const char *interface,
                       const char *property, sd_bus_message *reply,
                       void *userdata, sd_bus_error *ret_error) {
    (void)bus; (void)path; (void)interface; (void)property;
    (void)userdata; (void)ret_error;
    return sd_bus_message_append(reply, "s", version_string);
}

static int method_noop(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
    (void)userdata; (void)ret_error;
    return sd_bus_reply_method_return(m, "");
}

static const sd_bus_vtable manager_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Version", "s", get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_METHOD("Noop", "", "", method_noop, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END
};

static void usage(FILE *out) {
    fprintf(out,
            "usage: baseline-service [--bus ADDRESS] [--name NAME] [--path PATH]\n"
            "                        [--interface IFACE] [--version-string S]\n"
            "defaults: --name org.peercollab.Baseline1 --path /org/peercollab/PeerCollab1\n"
            "          --interface org.peercollab.PeerCollab1.Manager; bus: session bus\n");
}

static int fail(const char *what, int r) {
    fprintf(stderr, "baseline-service: %s: %s\n", what, strerror(r < 0 ? -r : r));
    return EXIT_FAILURE;
}

int main(int argc, char **argv) {
    const char *address = NULL;
    const char *name = "org.peercollab.Baseline1";
    const char *path = "/org/peercollab/PeerCollab1";
    const char *interface = "org.peercollab.PeerCollab1.Manager";

    static const struct option options[] = {
        {"bus", required_argument, NULL, 'b'},
        {"name", required_argument, NULL, 'n'},
        {"path", required_argument, NULL, 'p'},
        {"interface", required_argument, NULL, 'i'},
        {"version-string", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'b': address = optarg; break;
        case 'n': name = optarg; break;
        case 'p': path = optarg; break;
        case 'i': interface = optarg; break;
        case 'v': version_string = optarg; break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) { usage(stderr); return 2; }

    sd_event *event = NULL;
    sd_bus *bus = NULL;
    sd_bus_slot *slot = NULL;
    int r;

    /* Signals must be blocked before sd-event can turn them into events. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) return fail("sigprocmask", errno);

    if ((r = sd_event_default(&event)) < 0) return fail("sd_event_default", r);
    if ((r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL)) < 0) return fail("SIGTERM handler", r);
    if ((r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL)) < 0) return fail("SIGINT handler", r);
    /* Only does anything when $WATCHDOG_USEC is set, like the daemon under systemd. */
    if ((r = sd_event_set_watchdog(event, 1)) < 0) return fail("sd_event_set_watchdog", r);

    if (address) {
        if ((r = sd_bus_new(&bus)) < 0) return fail("sd_bus_new", r);
        if ((r = sd_bus_set_address(bus, address)) < 0) return fail("bus address", r);
        if ((r = sd_bus_set_bus_client(bus, 1)) < 0) return fail("sd_bus_set_bus_client", r);
        if ((r = sd_bus_start(bus)) < 0) return fail("connecting to the bus given with --bus", r);
    } else if ((r = sd_bus_open_user(&bus)) < 0) {
        return fail("connecting to the session bus", r);
    }

    /* Export before requesting the name so no caller finds the name without the object. */
    if ((r = sd_bus_add_object_vtable(bus, &slot, path, interface, manager_vtable, NULL)) < 0)
        return fail("sd_bus_add_object_vtable (check --path and --interface)", r);
    if ((r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL)) < 0)
        return fail("sd_bus_attach_event", r);
    if ((r = sd_bus_request_name(bus, name, 0)) < 0)
        return fail("requesting the bus name (is another instance running?)", r);

    printf("READY\n");
    fflush(stdout);
    sd_notify(0, "READY=1");

    r = sd_event_loop(event);
    sd_notify(0, "STOPPING=1");

    sd_bus_slot_unref(slot);
    sd_bus_flush_close_unref(bus);
    sd_event_unref(event);
    return r < 0 ? fail("sd_event_loop", r) : EXIT_SUCCESS;
}
