#ifndef PEERCOLLAB_COPENSSL_SHIM_H
#define PEERCOLLAB_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/rand.h>

/* The functions below wrap OpenSSL macros, which Swift cannot call. */
static inline int pc_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int pc_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long pc_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
/* A memory BIO that is empty must say "retry later", not "end of file",
   because more ciphertext may still arrive from the socket. */
static inline long pc_BIO_set_mem_eof_return(BIO *bio, int value) {
    return BIO_set_mem_eof_return(bio, value);
}
static inline void pc_X509V3_set_ctx_nodb(X509V3_CTX *ctx) {
    X509V3_set_ctx_nodb(ctx);
}
static inline void pc_OPENSSL_free(void *pointer) {
    OPENSSL_free(pointer);
}
/* SSL_OP_* are built with a function-like macro that Swift does not import. */
static inline uint64_t pc_SSL_OP_NO_TICKET(void) {
    return SSL_OP_NO_TICKET;
}
#endif
