#ifndef PEERCOLLAB_CDBUS_SHIM_H
#define PEERCOLLAB_CDBUS_SHIM_H
#include <dbus/dbus.h>
/* The event loop that drives libdbus's watches and timeouts. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
