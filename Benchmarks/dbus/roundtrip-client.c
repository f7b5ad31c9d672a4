/*
 * roundtrip-client: measures synchronous D-Bus round trips per second
 * against one service, the way a plain libdbus client (a script, an applet)
 * talks to it: build the call, send it, block for the reply, check it.
 *
 * Kinds measured, one after the other, each with its own warm-up:
 *   get    org.freedesktop.DBus.Properties.Get(INTERFACE, PROPERTY)
 *          (the reply must be a variant holding a string)
 *   ping   org.freedesktop.DBus.Peer.Ping
 *   method INTERFACE.METHOD with no arguments (only with --method)
 * Each kind stops after --count calls or --seconds seconds, whichever
 * comes first. Prints one JSON object on stdout; errors go to stderr and
 * the exit status is non-zero.
 */
#include <dbus/dbus.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct options {
    const char *address, *dest, *path, *interface, *property, *method, *target;
    long count, warmup;
    double seconds;
    int timeout_ms;
};

struct result {
    long calls;
    double elapsed_s, per_s, p50_us, p99_us;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum kind { KIND_GET, KIND_PING, KIND_METHOD };
static const char *kind_name[] = {"get", "ping", "method"};

/* One synchronous call; returns 0 on a well-formed reply, -1 (after saying why) otherwise. */
static int call_once(DBusConnection *conn, const struct options *o, enum kind kind) {
    DBusMessage *msg;
    switch (kind) {
    case KIND_GET:
        msg = dbus_message_new_method_call(o->dest, o->path, "org.freedesktop.DBus.Properties", "Get");
        if (msg && !dbus_message_append_args(msg, DBUS_TYPE_STRING, &o->interface,
                                             DBUS_TYPE_STRING, &o->property, DBUS_TYPE_INVALID)) {
            dbus_message_unref(msg);
            msg = NULL;
        }
        break;
    case KIND_PING:
        msg = dbus_message_new_method_call(o->dest, o->path, "org.freedesktop.DBus.Peer", "Ping");
        break;
    default:
        msg = dbus_message_new_method_call(o->dest, o->path, o->interface, o->method);
        break;
    }
    if (!msg) {
        fprintf(stderr, "roundtrip-client: out of memory building a %s call\n", kind_name[kind]);
        return -1;
    }
    DBusError err;
    dbus_error_init(&err);
    DBusMessage *reply = dbus_connection_send_with_reply_and_block(conn, msg, o->timeout_ms, &err);
    dbus_message_unref(msg);
    if (!reply) {
        fprintf(stderr, "roundtrip-client: %s call to %s %s failed: %s: %s\n", kind_name[kind],
                o->dest, o->path, err.name, err.message);
        dbus_error_free(&err);
        return -1;
    }
    int ok = 0;
    if (kind == KIND_GET) {
        DBusMessageIter it, variant;
        if (!dbus_message_iter_init(reply, &it) || dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_VARIANT) {
            ok = -1;
        } else {
            dbus_message_iter_recurse(&it, &variant);
            if (dbus_message_iter_get_arg_type(&variant) != DBUS_TYPE_STRING) ok = -1;
        }
        if (ok != 0)
            fprintf(stderr, "roundtrip-client: Get(%s, %s) did not return a string variant (signature '%s')\n",
                    o->interface, o->property, dbus_message_get_signature(reply));
    }
    dbus_message_unref(reply);
    return ok;
}

static int measure(DBusConnection *conn, const struct options *o, enum kind kind, double *lat, struct result *res) {
    for (long i = 0; i < o->warmup; i++)
        if (call_once(conn, o, kind) != 0) return -1;
    double start = now_s(), deadline = start + o->seconds, t = start;
    long n = 0;
    while (n < o->count && t < deadline) {
        double before = t;
        if (call_once(conn, o, kind) != 0) return -1;
        t = now_s();
        lat[n++] = t - before;
    }
    res->calls = n;
    res->elapsed_s = t - start;
    res->per_s = res->elapsed_s > 0 ? (double)n / res->elapsed_s : 0;
    qsort(lat, (size_t)n, sizeof *lat, compare_double);
    res->p50_us = n ? lat[n / 2] * 1e6 : 0;
    res->p99_us = n ? lat[(long)((double)(n - 1) * 0.99)] * 1e6 : 0;
    return 0;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: roundtrip-client --dest NAME [--bus ADDRESS] [--path PATH] [--interface IFACE]\n"
            "           [--property NAME] [--method NAME] [--count N] [--warmup N] [--seconds S]\n"
            "           [--timeout-ms MS] [--target LABEL]\n"
            "defaults: --path /org/peercollab/PeerCollab1 --interface org.peercollab.PeerCollab1.Manager\n"
            "          --property Version --count 20000 --warmup 1000 --seconds 10 --timeout-ms 5000\n"
            "          bus: session bus\n");
}

static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    struct options o = {
        .address = NULL, .dest = NULL, .path = "/org/peercollab/PeerCollab1",
        .interface = "org.peercollab.PeerCollab1.Manager", .property = "Version",
        .method = NULL, .target = NULL, .count = 20000, .warmup = 1000, .seconds = 10,
        .timeout_ms = 5000,
    };
    static const struct option options[] = {
        {"bus", required_argument, NULL, 'b'}, {"dest", required_argument, NULL, 'd'},
        {"path", required_argument, NULL, 'p'}, {"interface", required_argument, NULL, 'i'},
        {"property", required_argument, NULL, 'P'}, {"method", required_argument, NULL, 'm'},
        {"count", required_argument, NULL, 'c'}, {"warmup", required_argument, NULL, 'w'},
        {"seconds", required_argument, NULL, 's'}, {"timeout-ms", required_argument, NULL, 't'},
        {"target", required_argument, NULL, 'T'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'b': o.address = optarg; break;
        case 'd': o.dest = optarg; break;
        case 'p': o.path = optarg; break;
        case 'i': o.interface = optarg; break;
        case 'P': o.property = optarg; break;
        case 'm': o.method = optarg; break;
        case 'c': o.count = strtol(optarg, NULL, 10); break;
        case 'w': o.warmup = strtol(optarg, NULL, 10); break;
        case 's': o.seconds = strtod(optarg, NULL); break;
        case 't': o.timeout_ms = (int)strtol(optarg, NULL, 10); break;
        case 'T': o.target = optarg; break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !o.dest) { usage(stderr); return 2; }
    if (o.count < 1 || o.count > 10000000 || o.warmup < 0 || o.seconds <= 0 || o.timeout_ms < 1) {
        fprintf(stderr, "roundtrip-client: --count must be 1..10000000, --warmup >= 0, "
                        "--seconds > 0 and --timeout-ms >= 1\n");
        return 2;
    }
    if (!o.target) o.target = o.dest;

    DBusError err;
    dbus_error_init(&err);
    DBusConnection *conn;
    if (o.address) {
        conn = dbus_connection_open_private(o.address, &err);
        if (conn && !dbus_bus_register(conn, &err)) {
            dbus_connection_close(conn);
            dbus_connection_unref(conn);
            conn = NULL;
        }
    } else {
        conn = dbus_bus_get_private(DBUS_BUS_SESSION, &err);
    }
    if (!conn) {
        fprintf(stderr, "roundtrip-client: cannot connect to the bus: %s: %s\n", err.name, err.message);
        return EXIT_FAILURE;
    }
    dbus_connection_set_exit_on_disconnect(conn, FALSE);

    double *lat = malloc((size_t)o.count * sizeof *lat);
    if (!lat) { fprintf(stderr, "roundtrip-client: out of memory\n"); return EXIT_FAILURE; }

    enum kind kinds[] = {KIND_GET, KIND_PING, KIND_METHOD};
    struct result res[3] = {{0}};
    int nkinds = o.method ? 3 : 2;
    for (int k = 0; k < nkinds; k++)
        if (measure(conn, &o, kinds[k], lat, &res[k]) != 0) return EXIT_FAILURE;

    printf("{\"target\":");
    print_json_string(o.target);
    printf(",\"dest\":");
    print_json_string(o.dest);
    for (int k = 0; k < nkinds; k++) {
        const char *n = kind_name[kinds[k]];
        printf(",\"%s_per_s\":%.1f,\"%s_calls\":%ld,\"%s_seconds\":%.3f,\"%s_p50_us\":%.1f,\"%s_p99_us\":%.1f",
               n, res[k].per_s, n, res[k].calls, n, res[k].elapsed_s, n, res[k].p50_us, n, res[k].p99_us);
    }
    if (o.method) { printf(",\"method\":"); print_json_string(o.method); }
    printf(",\"warmup\":%ld}\n", o.warmup);

    free(lat);
    dbus_connection_close(conn);
    dbus_connection_unref(conn);
    return EXIT_SUCCESS;
}
