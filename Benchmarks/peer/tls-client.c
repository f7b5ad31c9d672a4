/*
 * tls-client: the yardstick client for the handshake benchmark, plain libssl with
 * blocking sockets, doing what SecureChannel's client does:
 * TLS 1.3 only, an Ed25519 certificate of our own, ALPN "peercollab/1", the peer's
 * certificate required and accepted only as one self-signed leaf within its dates (with
 * the self-signature checked), no session tickets or resumption, and the peer's name
 * derived (SHA-256 of its public key).
 *
 * One round: new TCP connection, handshake, checks, write "ping\n", read the answer
 * (so the server has finished its side too), close_notify, close.
 *
 *   tls-client PORT CERT KEY COUNT PARALLEL WARMUP
 *
 * Prints one JSON object: wall time, CPU time of this process, latency percentiles.
 * Loopback only: it always connects to 127.0.0.1.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const unsigned char alpn[] = "\x0cpeercollab/1";
static SSL_CTX *context;
static int port;

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static void die(const char *what) {
    fprintf(stderr, "tls-client: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* One self-signed leaf, within its dates; as SecureChannel's verify callback. */
static int verify(int preverified, X509_STORE_CTX *store) {
    if (X509_STORE_CTX_get_error_depth(store) != 0) return 0;
    int error = X509_STORE_CTX_get_error(store);
    if (!preverified && error != X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT && error != X509_V_ERR_CERT_HAS_EXPIRED &&
        error != X509_V_ERR_CERT_NOT_YET_VALID)
        return 0;
    X509 *certificate = X509_STORE_CTX_get_current_cert(store);
    if (!certificate) return 0;
    if (X509_cmp_current_time(X509_get0_notAfter(certificate)) <= 0) return 0;
    if (X509_cmp_current_time(X509_get0_notBefore(certificate)) >= 0) return 0;
    return 1;
}

static double round_trip(void) {
    double start = now_us();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
    SSL *ssl = SSL_new(context);
    if (!ssl) die("SSL_new");
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) die("handshake");
    const unsigned char *agreed;
    unsigned int agreed_length;
    SSL_get0_alpn_selected(ssl, &agreed, &agreed_length);
    if (agreed_length != 12 || memcmp(agreed, "peercollab/1", 12) != 0) die("ALPN agreement");
    X509 *peer = SSL_get0_peer_certificate(ssl);
    if (!peer) die("peer certificate");
    /* The peer's name: SHA-256 over its SubjectPublicKeyInfo. */
    unsigned char *spki = NULL;
    int spki_length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(peer), &spki);
    if (spki_length <= 0) die("public key encoding");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length;
    if (!EVP_Digest(spki, spki_length, digest, &digest_length, EVP_sha256(), NULL)) die("SHA-256");
    OPENSSL_free(spki);
    if (SSL_write(ssl, "ping\n", 5) != 5) die("write");
    char answer[64];
    if (SSL_read(ssl, answer, sizeof answer) <= 0) die("read of the answer");
    SSL_shutdown(ssl);
    SSL_free(ssl);
    close(fd);
    return now_us() - start;
}

struct worker {
    pthread_t thread;
    int count;
    double *latencies;
};

static void *work(void *argument) {
    struct worker *worker = argument;
    for (int i = 0; i < worker->count; i++) worker->latencies[i] = round_trip();
    return NULL;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, int count, double fraction) {
    int index = (int)(fraction * count + 0.999999) - 1;
    if (index < 0) index = 0;
    if (index >= count) index = count - 1;
    return sorted[index];
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: tls-client PORT CERT KEY COUNT PARALLEL WARMUP\n");
        return 2;
    }
    port = atoi(argv[1]);
    int count = atoi(argv[4]), parallel = atoi(argv[5]), warmup = atoi(argv[6]);
    if (port <= 0 || count <= 0 || parallel <= 0 || parallel > 64 || warmup < 0) {
        fprintf(stderr, "tls-client: bad numbers\n");
        return 2;
    }
    context = SSL_CTX_new(TLS_client_method());
    if (!context) die("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION);
    if (SSL_CTX_use_certificate_file(context, argv[2], SSL_FILETYPE_PEM) != 1) die("loading the certificate");
    if (SSL_CTX_use_PrivateKey_file(context, argv[3], SSL_FILETYPE_PEM) != 1) die("loading the key");
    if (SSL_CTX_check_private_key(context) != 1) die("key check");
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify);
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(context), X509_V_FLAG_CHECK_SS_SIGNATURE);
    if (SSL_CTX_set_alpn_protos(context, alpn, sizeof alpn - 1) != 0) die("ALPN");
    SSL_CTX_set_options(context, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);

    for (int i = 0; i < warmup; i++) round_trip();

    double *latencies = calloc(count, sizeof *latencies);
    struct worker *workers = calloc(parallel, sizeof *workers);
    if (!latencies || !workers) die("allocation");
    double cpu_start = cpu_seconds(), start = now_us();
    int offset = 0;
    for (int w = 0; w < parallel; w++) {
        workers[w].count = count / parallel + (w < count % parallel);
        workers[w].latencies = latencies + offset;
        offset += workers[w].count;
        if (pthread_create(&workers[w].thread, NULL, work, &workers[w]) != 0) die("pthread_create");
    }
    for (int w = 0; w < parallel; w++) pthread_join(workers[w].thread, NULL);
    double wall = (now_us() - start) / 1e6, cpu = cpu_seconds() - cpu_start;

    qsort(latencies, count, sizeof *latencies, compare);
    double sum = 0;
    for (int i = 0; i < count; i++) sum += latencies[i];
    printf("{\"client\": \"libssl\", \"count\": %d, \"parallel\": %d, \"wall_s\": %.6f, \"client_cpu_s\": %.6f, "
           "\"per_second\": %.1f, \"latency_mean_us\": %.1f, \"latency_p50_us\": %.1f, \"latency_p90_us\": %.1f, "
           "\"latency_p99_us\": %.1f}\n",
           count, parallel, wall, cpu, count / wall, sum / count, percentile(latencies, count, 0.5),
           percentile(latencies, count, 0.9), percentile(latencies, count, 0.99));
    SSL_CTX_free(context);
    return 0;
}
