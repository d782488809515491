#include "handlers/blocking.h"

#include <optional>
#include <utility>

namespace brigade::handlers {

BlockingPool::BlockingPool(int threads, size_t queue_limit)
    : max_threads_(threads), queue_limit_(queue_limit) {}

BlockingPool::~BlockingPool() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    threads = std::move(threads_);
  }
  for (std::thread& t : threads) t.join();
}

bool BlockingPool::Submit(std::function<void()> job) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= queue_limit_) return false;
  queue_.push_back(std::move(job));
  // Threads start as jobs come, so a server without blocking handlers has none.
  if (static_cast<int>(threads_.size()) < max_threads_) threads_.emplace_back([this] { Run(); });
  return true;
}

int BlockingPool::threads_started() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(threads_.size());
}

void BlockingPool::Run() {
  while (true) {
    std::function<void()> job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](BlockingPool* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->stopping_ || !p->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, and nothing left to run
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

namespace internal {

// One blocking handler's conversation with its request's coroutine: the pool thread posts a
// message and waits for the answer; the worker takes the message, does the I/O, answers.
class BlockingChannel {
 public:
  enum class Op { kRead, kWrite, kDone };
  struct Message {
    Op op = Op::kDone;
    size_t max = 0;
    std::string data;
    Outcome outcome = Outcome::Ok();
    int status = 200;
    filters::HeaderMap headers;
  };
  struct Reply {
    absl::Status status;
    std::string data;
  };

  explicit BlockingChannel(std::function<void()> wake) : wake_(std::move(wake)) {}

  // Pool thread: posts `m` and, unless it is kDone, waits for the reply.
  Reply Call(Message m) {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return {absl::CancelledError("the connection closed"), ""};
    bool done = m.op == Op::kDone;
    message_ = std::move(m);
    // Under the lock: Cancel() waits for it, so the worker's loop still exists while it runs.
    wake_();
    if (done) return {};
    mu_.Await(absl::Condition(
        +[](BlockingChannel* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
          return c->cancelled_ || c->reply_.has_value();
        },
        this));
    if (!reply_.has_value()) return {absl::CancelledError("the connection closed"), ""};
    Reply r = std::move(*reply_);
    reply_.reset();
    return r;
  }

  // Worker: the posted message, if there is one.
  std::optional<Message> Take() {
    absl::MutexLock lock(&mu_);
    std::optional<Message> m = std::move(message_);
    message_.reset();
    return m;
  }
  void Answer(Reply r) {
    absl::MutexLock lock(&mu_);
    reply_ = std::move(r);
  }
  // Worker: the request is over; every call from now on fails, the one waiting too.
  void Cancel() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }

 private:
  absl::Mutex mu_;
  std::function<void()> wake_;
  std::optional<Message> message_ ABSL_GUARDED_BY(mu_);
  std::optional<Reply> reply_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace internal

using internal::BlockingChannel;

absl::StatusOr<std::string> BlockingRequest::ReadBody(size_t max) {
  BlockingChannel::Message m;
  m.op = BlockingChannel::Op::kRead;
  m.max = max;
  BlockingChannel::Reply r = channel_->Call(std::move(m));
  if (!r.status.ok()) return r.status;
  return std::move(r.data);
}

absl::Status BlockingRequest::Write(std::string data) {
  BlockingChannel::Message m;
  m.op = BlockingChannel::Op::kWrite;
  m.data = std::move(data);
  m.status = status;
  m.headers = response_headers;
  return channel_->Call(std::move(m)).status;
}

namespace {

// Parks the coroutine until the pool thread posted a message (the waker resumes it).
struct MessageOp {
  Suspension* suspension;
  Wait wait;
  BlockingChannel* channel;
  std::optional<BlockingChannel::Message> got;
  bool TryComplete() {
    got = channel->Take();
    return got.has_value();
  }
  BlockingChannel::Message result() { return std::move(*got); }
};

// Cancels the channel when the coroutine ends, however it ends (returned, or destroyed with a
// dead connection), so that the pool thread never waits on a request that is gone.
struct CancelAtEnd {
  std::shared_ptr<BlockingChannel> channel;
  ~CancelAtEnd() { channel->Cancel(); }
};

void TakeHead(Request& r, const BlockingChannel::Message& m) {
  r.status = m.status;
  for (const filters::HeaderMap::Field& f : m.headers) r.response_headers.Add(f.first, f.second);
}

Task<Outcome> RunBlocking(Request& r, BlockingPool* pool,
                          std::shared_ptr<const std::function<Outcome(BlockingRequest&)>> handler) {
  auto channel = std::make_shared<BlockingChannel>(r.connection().waker());
  CancelAtEnd cancel{channel};
  // The head is copied here, on the worker: the request itself never crosses threads.
  auto job = [channel, handler, method = r.method, uri = r.uri, protocol = r.protocol,
              headers = r.request_headers] {
    BlockingRequest br(channel);
    br.method = method;
    br.uri = uri;
    br.protocol = protocol;
    br.request_headers = headers;
    Outcome o = (*handler)(br);
    BlockingChannel::Message done;
    done.outcome = o;
    done.status = br.status;
    done.headers = br.response_headers;
    channel->Call(std::move(done));
  };
  if (!pool->Submit(std::move(job))) co_return Outcome::Status(503);
  bool head_taken = false;
  while (true) {
    BlockingChannel::Message m = co_await Retrying(
        MessageOp{&r.parked().suspension(), Wait::kWoken, channel.get(), std::nullopt});
    if (!head_taken && m.op != BlockingChannel::Op::kRead) {
      TakeHead(r, m);
      head_taken = true;
    }
    switch (m.op) {
      case BlockingChannel::Op::kRead: {
        Brigade bb(r.allocator());
        absl::StatusOr<size_t> n = co_await r.ReadBody(bb, m.max);
        if (!n.ok()) {
          channel->Answer({n.status(), ""});
          break;
        }
        absl::StatusOr<std::string> bytes = bb.FlattenToString(m.max);
        channel->Answer({bytes.status(), bytes.ok() ? *std::move(bytes) : ""});
        break;
      }
      case BlockingChannel::Op::kWrite: {
        Brigade bb(r.allocator());
        absl::Status s = bb.WriteOwned(std::move(m.data));
        if (s.ok()) s = co_await r.Send(bb);
        channel->Answer({s, ""});
        break;
      }
      case BlockingChannel::Op::kDone:
        co_return m.outcome;
    }
  }
}

}  // namespace

std::function<Outcome(Request&)> Blocking(BlockingPool* pool,
                                          std::function<Outcome(BlockingRequest&)> handler) {
  auto shared = std::make_shared<const std::function<Outcome(BlockingRequest&)>>(std::move(handler));
  return Coroutine<Request>(
      [pool, shared](Request& r) { return RunBlocking(r, pool, shared); });
}

}  // namespace brigade::handlers
