#ifndef CLIBUV_SOCKDIAG_H
#define CLIBUV_SOCKDIAG_H
/*
 * Socket diagnostics (NETLINK_SOCK_DIAG): which socket is the other end of an accepted loopback TCP connection.
 * The kernel looks one socket up by its exact address pair, so a lookup costs one request and one answer however
 * many sockets the machine has.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/// A socket for socket-diagnostics requests, or -1 with errno set.
static inline int clibuv_diag_open(void) {
    return socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
}

/// The inode of the IPv4 TCP socket whose own address is `source:sourcePort` and whose peer is
/// `destination:destinationPort` (addresses and ports in host byte order), and in `*uid` the user that created it:
/// > 0 found, 0 when there is no such socket or no process holds it any more (an orphan or time-wait socket has
/// inode 0), -1 on error (errno set).
static inline long long clibuv_diag_tcp_inode(int fd, uint32_t source, uint16_t sourcePort, uint32_t destination,
                                              uint16_t destinationPort, uint32_t *uid) {
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } message;
    memset(&message, 0, sizeof message);
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST;
    message.request.sdiag_family = AF_INET;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = ~0U;
    message.request.id.idiag_sport = htons(sourcePort);
    message.request.id.idiag_dport = htons(destinationPort);
    message.request.id.idiag_src[0] = htonl(source);
    message.request.id.idiag_dst[0] = htonl(destination);
    message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do {
        sent = sendto(fd, &message, sizeof message, 0, (struct sockaddr *)&kernel, sizeof kernel);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) return -1;
    union {
        struct nlmsghdr header;
        char bytes[1024];
    } answer;
    ssize_t received;
    do {
        received = recv(fd, &answer, sizeof answer, 0);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return -1;
    struct nlmsghdr *header = &answer.header;
    if (!NLMSG_OK(header, (size_t)received)) {
        errno = EPROTO;
        return -1;
    }
    if (header->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *error = (struct nlmsgerr *)NLMSG_DATA(header);
        if (error->error == -ENOENT) return 0;
        errno = -error->error;
        return -1;
    }
    if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY) {
        errno = EPROTO;
        return -1;
    }
    struct inet_diag_msg *socketInfo = (struct inet_diag_msg *)NLMSG_DATA(header);
    *uid = socketInfo->idiag_uid;
    return (long long)socketInfo->idiag_inode;
}
#endif
