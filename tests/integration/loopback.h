// Client sockets for the in-process server tests.

#ifndef TESTS_INTEGRATION_LOOPBACK_H_
#define TESTS_INTEGRATION_LOOPBACK_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace brigade::test {

// A blocking TCP connection to 127.0.0.1:`port`, or -1. `configure(fd)` runs before connect
// (socket options that must precede the handshake, such as SO_RCVBUF).
template <typename Configure>
int ConnectLoopback(int port, Configure configure) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  configure(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace brigade::test

#endif  // TESTS_INTEGRATION_LOOPBACK_H_
