#ifndef PEERCOLLAB_CQRENCODE_SHIM_H
#define PEERCOLLAB_CQRENCODE_SHIM_H

#include <qrencode.h>

#endif
