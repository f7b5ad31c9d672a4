/*
 * roundtrip-client: measures synchronous D-Bus round trips per second
 * against one or more services, the way a plain libdbus client (a script,
 * an applet) talks to them: build the call, send it, block for the reply,
 * check it.
 *
 * Kinds measured, one after the other, each with its own warm-up:
 *   get    org.freedesktop.DBus.Properties.Get(INTERFACE, PROPERTY)
 *          (the reply must be a variant holding a string)
 *   ping   org.freedesktop.DBus.Peer.Ping
 *   method INTERFACE.METHOD with no arguments (targets given --method only)
 *
 * With several targets (--dest repeated) the calls alternate between them
 * in batches of --batch calls, the order of targets flipping every batch,
 * so a burst of other work on a shared machine falls on all of them alike;
 * each target's rate is its calls over the time spent in its own batches.
 * A kind stops when every target has made --count calls or --seconds have
 * passed. Prints one JSON object per target on stdout; errors go to stderr
 * and the exit status is non-zero.
 */
#include <dbus/dbus.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TARGETS 8

enum kind { KIND_GET, KIND_PING, KIND_METHOD, KIND_COUNT };
static const char *kind_name[] = {"get", "ping", "method"};

struct result {
    long calls;
    double elapsed_s, per_s, p50_us, p99_us;
};

struct target {
    const char *dest, *label, *method;
    double *lat;
    struct result res[KIND_COUNT];
};

struct options {
    const char *address, *path, *interface, *property;
    long count, warmup, batch;
    double seconds;
    int timeout_ms;
    struct target targets[MAX_TARGETS];
    int ntargets;
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

/* One synchronous call; returns 0 on a well-formed reply, -1 (after saying why) otherwise. */
static int call_once(DBusConnection *conn, const struct options *o, const struct target *t, enum kind kind) {
    DBusMessage *msg;
    switch (kind) {
    case KIND_GET:
        msg = dbus_message_new_method_call(t->dest, o->path, "org.freedesktop.DBus.Properties", "Get");
        if (msg && !dbus_message_append_args(msg, DBUS_TYPE_STRING, &o->interface,
                                             DBUS_TYPE_STRING, &o->property, DBUS_TYPE_INVALID)) {
            dbus_message_unref(msg);
            msg = NULL;
        }
        break;
    case KIND_PING:
        msg = dbus_message_new_method_call(t->dest, o->path, "org.freedesktop.DBus.Peer", "Ping");
        break;
    default:
        msg = dbus_message_new_method_call(t->dest, o->path, o->interface, t->method);
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
                t->dest, o->path, err.name, err.message);
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
            fprintf(stderr, "roundtrip-client: %s: Get(%s, %s) did not return a string variant (signature '%s')\n",
                    t->dest, o->interface, o->property, dbus_message_get_signature(reply));
    }
    dbus_message_unref(reply);
    return ok;
}

/* Kinds to measure (--kinds get,ping,method); all by default. Lets a profiler load one path. */
static int kind_enabled[KIND_COUNT] = {1, 1, 1};

static int takes_part(const struct target *t, enum kind kind) {
    return kind_enabled[kind] && (kind != KIND_METHOD || t->method != NULL);
}

static int parse_kinds(const char *list) {
    char copy[64];
    if (strlen(list) >= sizeof copy) return -1;
    strcpy(copy, list);
    for (int k = 0; k < KIND_COUNT; k++) kind_enabled[k] = 0;
    for (char *save = NULL, *word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int k = 0; k < KIND_COUNT; k++)
            if (strcmp(word, kind_name[k]) == 0) kind_enabled[k] = found = 1;
        if (!found) return -1;
    }
    return 0;
}

static int measure(DBusConnection *conn, struct options *o, enum kind kind) {
    struct target *part[MAX_TARGETS];
    int n = 0;
    for (int i = 0; i < o->ntargets; i++)
        if (takes_part(&o->targets[i], kind)) part[n++] = &o->targets[i];
    if (n == 0) return 0;

    for (int i = 0; i < n; i++)
        for (long w = 0; w < o->warmup; w++)
            if (call_once(conn, o, part[i], kind) != 0) return -1;

    long calls[MAX_TARGETS] = {0};
    double spent[MAX_TARGETS] = {0};
    double deadline = now_s() + o->seconds;
    int flip = 0;
    for (;;) {
        int busy = 0;
        for (int j = 0; j < n; j++) {
            int i = flip ? n - 1 - j : j;
            struct target *t = part[i];
            long todo = o->count - calls[i] < o->batch ? o->count - calls[i] : o->batch;
            if (todo <= 0) continue;
            busy = 1;
            double before = now_s(), start = before, after = before;
            for (long c = 0; c < todo; c++) {
                if (call_once(conn, o, t, kind) != 0) return -1;
                after = now_s();
                t->lat[calls[i]++] = after - before;
                before = after;
            }
            spent[i] += after - start;
        }
        flip = !flip;
        if (!busy || now_s() >= deadline) break;
    }
    for (int i = 0; i < n; i++) {
        struct result *r = &part[i]->res[kind];
        long m = calls[i];
        r->calls = m;
        r->elapsed_s = spent[i];
        r->per_s = spent[i] > 0 ? (double)m / spent[i] : 0;
        qsort(part[i]->lat, (size_t)m, sizeof *part[i]->lat, compare_double);
        r->p50_us = m ? part[i]->lat[m / 2] * 1e6 : 0;
        r->p99_us = m ? part[i]->lat[(long)((double)(m - 1) * 0.99)] * 1e6 : 0;
    }
    return 0;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: roundtrip-client [--bus ADDRESS] [--path PATH] [--interface IFACE] [--property NAME]\n"
            "           [--count N] [--warmup N] [--batch N] [--seconds S] [--timeout-ms MS]\n"
            "           [--kinds get,ping,method]\n"
            "           --dest NAME [--target LABEL] [--method NAME]  [--dest NAME ...]\n"
            "--target and --method apply to the --dest before them; up to %d targets.\n"
            "defaults: --path /org/peercollab/PeerCollab1 --interface org.peercollab.PeerCollab1.Manager\n"
            "          --property Version --count 20000 --warmup 1000 --batch 100 --seconds 30\n"
            "          --timeout-ms 5000; label = bus name; bus: session bus\n",
            MAX_TARGETS);
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
        .address = NULL, .path = "/org/peercollab/PeerCollab1",
        .interface = "org.peercollab.PeerCollab1.Manager", .property = "Version",
        .count = 20000, .warmup = 1000, .batch = 100, .seconds = 30, .timeout_ms = 5000,
    };
    static const struct option options[] = {
        {"bus", required_argument, NULL, 'b'}, {"dest", required_argument, NULL, 'd'},
        {"path", required_argument, NULL, 'p'}, {"interface", required_argument, NULL, 'i'},
        {"property", required_argument, NULL, 'P'}, {"method", required_argument, NULL, 'm'},
        {"count", required_argument, NULL, 'c'}, {"warmup", required_argument, NULL, 'w'},
        {"batch", required_argument, NULL, 'B'}, {"seconds", required_argument, NULL, 's'},
        {"timeout-ms", required_argument, NULL, 't'}, {"target", required_argument, NULL, 'T'},
        {"kinds", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'b': o.address = optarg; break;
        case 'd':
            if (o.ntargets == MAX_TARGETS) { fprintf(stderr, "roundtrip-client: at most %d --dest\n", MAX_TARGETS); return 2; }
            o.targets[o.ntargets++] = (struct target){.dest = optarg, .label = optarg};
            break;
        case 'T': case 'm':
            if (o.ntargets == 0) { fprintf(stderr, "roundtrip-client: --target and --method follow a --dest\n"); return 2; }
            if (c == 'T') o.targets[o.ntargets - 1].label = optarg;
            else o.targets[o.ntargets - 1].method = optarg;
            break;
        case 'p': o.path = optarg; break;
        case 'i': o.interface = optarg; break;
        case 'P': o.property = optarg; break;
        case 'c': o.count = strtol(optarg, NULL, 10); break;
        case 'w': o.warmup = strtol(optarg, NULL, 10); break;
        case 'B': o.batch = strtol(optarg, NULL, 10); break;
        case 's': o.seconds = strtod(optarg, NULL); break;
        case 't': o.timeout_ms = (int)strtol(optarg, NULL, 10); break;
        case 'k':
            if (parse_kinds(optarg) != 0) {
                fprintf(stderr, "roundtrip-client: --kinds takes a comma-separated list of get, ping, method\n");
                return 2;
            }
            break;
        case 'h': usage(stdout); return EXIT_SUCCESS;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || o.ntargets == 0) { usage(stderr); return 2; }
    if (o.count < 1 || o.count > 10000000 || o.warmup < 0 || o.batch < 1 || o.seconds <= 0 || o.timeout_ms < 1) {
        fprintf(stderr, "roundtrip-client: --count must be 1..10000000, --warmup >= 0, --batch >= 1, "
                        "--seconds > 0 and --timeout-ms >= 1\n");
        return 2;
    }

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

    for (int i = 0; i < o.ntargets; i++) {
        o.targets[i].lat = malloc((size_t)o.count * sizeof *o.targets[i].lat);
        if (!o.targets[i].lat) { fprintf(stderr, "roundtrip-client: out of memory\n"); return EXIT_FAILURE; }
    }
    for (int k = 0; k < KIND_COUNT; k++)
        if (measure(conn, &o, (enum kind)k) != 0) return EXIT_FAILURE;

    for (int i = 0; i < o.ntargets; i++) {
        const struct target *t = &o.targets[i];
        printf("{\"target\":");
        print_json_string(t->label);
        printf(",\"dest\":");
        print_json_string(t->dest);
        for (int k = 0; k < KIND_COUNT; k++) {
            if (!takes_part(t, (enum kind)k)) continue;
            const char *n = kind_name[k];
            const struct result *r = &t->res[k];
            printf(",\"%s_per_s\":%.1f,\"%s_calls\":%ld,\"%s_seconds\":%.3f,\"%s_p50_us\":%.1f,\"%s_p99_us\":%.1f",
                   n, r->per_s, n, r->calls, n, r->elapsed_s, n, r->p50_us, n, r->p99_us);
        }
        if (t->method) { printf(",\"method\":"); print_json_string(t->method); }
        printf(",\"warmup\":%ld,\"batch\":%ld,\"interleaved_with\":%d}\n", o.warmup, o.batch, o.ntargets - 1);
        free(t->lat);
    }
    fflush(stdout);
    dbus_connection_close(conn);
    dbus_connection_unref(conn);
    return EXIT_SUCCESS;
}
