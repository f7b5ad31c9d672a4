/* The bus side of the contacts benchmark, with libdbus and blocking calls one at a time:
 *
 *   contacts-client ADDRESS add FILE        AddContact for each card in FILE (NUL-separated)
 *   contacts-client ADDRESS nick PATH COUNT Properties.Set Nickname COUNT times on PATH
 *   contacts-client ADDRESS gmo ROUNDS      GetManagedObjects ROUNDS times (a line each: 1 seconds objects bytes)
 *   contacts-client ADDRESS getall ROUNDS   Properties.GetAll of the Manager ROUNDS times (one line, total)
 *   contacts-client ADDRESS owned           exit 0 when the daemon owns its name
 *
 * Prints one line: "calls seconds [objects]". Any error reply ends it with status 1. */
#include <dbus/dbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *service = "org.peercollab.PeerCollab1";
static const char *root = "/org/peercollab/PeerCollab1";

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static DBusMessage *call(DBusConnection *bus, DBusMessage *message) {
    DBusError error;
    dbus_error_init(&error);
    DBusMessage *reply = dbus_connection_send_with_reply_and_block(bus, message, 600000, &error);
    dbus_message_unref(message);
    if (!reply) {
        fprintf(stderr, "contacts-client: %s: %s\n", error.name, error.message);
        exit(1);
    }
    return reply;
}

int main(int argc, char **argv) {
    if (argc < 3) return 64;
    DBusError error;
    dbus_error_init(&error);
    DBusConnection *bus = dbus_connection_open_private(argv[1], &error);
    if (!bus || !dbus_bus_register(bus, &error)) {
        fprintf(stderr, "contacts-client: %s\n", error.message);
        return 69;
    }
    const char *verb = argv[2];
    if (strcmp(verb, "owned") == 0) return dbus_bus_name_has_owner(bus, service, &error) ? 0 : 1;
    if (strcmp(verb, "add") == 0 && argc == 4) {
        FILE *file = fopen(argv[3], "rb");
        if (!file) return 66;
        fseek(file, 0, SEEK_END);
        long size = ftell(file);
        fseek(file, 0, SEEK_SET);
        char *text = malloc(size + 1);
        if (fread(text, 1, size, file) != (size_t)size) return 66;
        text[size] = 0;
        int calls = 0;
        double start = now();
        for (char *card = text; card < text + size; card += strlen(card) + 1) {
            DBusMessage *m = dbus_message_new_method_call(service, root, "org.peercollab.PeerCollab1.Manager", "AddContact");
            dbus_message_append_args(m, DBUS_TYPE_STRING, &card, DBUS_TYPE_INVALID);
            dbus_message_unref(call(bus, m));
            calls++;
        }
        printf("%d %.6f\n", calls, now() - start);
        return 0;
    }
    if (strcmp(verb, "nick") == 0 && argc == 5) {
        int count = atoi(argv[4]);
        const char *interface = "org.peercollab.PeerCollab1.Contact", *property = "Nickname";
        double start = now();
        for (int i = 0; i < count; i++) {
            char nick[32];
            snprintf(nick, sizeof nick, "nick %d", i);
            const char *value = nick;
            DBusMessage *m = dbus_message_new_method_call(service, argv[3], "org.freedesktop.DBus.Properties", "Set");
            DBusMessageIter args, variant;
            dbus_message_iter_init_append(m, &args);
            dbus_message_iter_append_basic(&args, DBUS_TYPE_STRING, &interface);
            dbus_message_iter_append_basic(&args, DBUS_TYPE_STRING, &property);
            dbus_message_iter_open_container(&args, DBUS_TYPE_VARIANT, "s", &variant);
            dbus_message_iter_append_basic(&variant, DBUS_TYPE_STRING, &value);
            dbus_message_iter_close_container(&args, &variant);
            dbus_message_unref(call(bus, m));
        }
        printf("%d %.6f\n", count, now() - start);
        return 0;
    }
    if (strcmp(verb, "getall") == 0 && argc == 4) {
        int rounds = atoi(argv[3]);
        const char *interface = "org.peercollab.PeerCollab1.Manager";
        int properties = 0;
        double start = now();
        for (int i = 0; i < rounds; i++) {
            DBusMessage *m = dbus_message_new_method_call(service, root, "org.freedesktop.DBus.Properties", "GetAll");
            dbus_message_append_args(m, DBUS_TYPE_STRING, &interface, DBUS_TYPE_INVALID);
            DBusMessage *reply = call(bus, m);
            DBusMessageIter args, dict;
            properties = 0;
            if (dbus_message_iter_init(reply, &args) && dbus_message_iter_get_arg_type(&args) == DBUS_TYPE_ARRAY) {
                dbus_message_iter_recurse(&args, &dict);
                while (dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY) {
                    properties++;
                    dbus_message_iter_next(&dict);
                }
            }
            dbus_message_unref(reply);
        }
        printf("%d %.6f %d\n", rounds, now() - start, properties);
        return 0;
    }
    if (strcmp(verb, "gmo") == 0 && argc == 4) {
        int rounds = atoi(argv[3]);
        for (int i = 0; i < rounds; i++) {
            DBusMessage *m = dbus_message_new_method_call(service, root, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
            double start = now();
            DBusMessage *reply = call(bus, m);
            double elapsed = now() - start;
            DBusMessageIter args, dict;
            int objects = 0;
            if (dbus_message_iter_init(reply, &args) && dbus_message_iter_get_arg_type(&args) == DBUS_TYPE_ARRAY) {
                dbus_message_iter_recurse(&args, &dict);
                while (dbus_message_iter_get_arg_type(&dict) == DBUS_TYPE_DICT_ENTRY) {
                    objects++;
                    dbus_message_iter_next(&dict);
                }
            }
            /* The reply's size on the wire: what the daemon had to hold as one buffer. */
            char *wire = NULL;
            int bytes = 0;
            if (dbus_message_marshal(reply, &wire, &bytes))
                dbus_free(wire);
            dbus_message_unref(reply);
            printf("1 %.6f %d %d\n", elapsed, objects, bytes);
        }
        return 0;
    }
    return 64;
}
