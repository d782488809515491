// RequestSlot: a protocol's state for one request (HTTP's: the request record and its protocol
// filters; the head parser with the room its fields took), which a worker keeps in its pool
// (connection.h, RecordPool) for its next request instead of building it again.
//
// Thread-safety: none; a slot belongs to one worker.

#ifndef SERVER_REQUEST_SLOT_H_
#define SERVER_REQUEST_SLOT_H_

namespace brigade::server {

class RequestSlot {
 public:
  virtual ~RequestSlot() = default;
};

}  // namespace brigade::server

#endif  // SERVER_REQUEST_SLOT_H_
