#ifndef PEERCOLLAB_CDBUS_SHIM_H
#define PEERCOLLAB_CDBUS_SHIM_H
#include <dbus/dbus.h>
#endif
