#include "handlers/blocking.h"

#include <optional>
#include <utility>

namespace brigade::handlers {

BlockingPool::BlockingPool(int threads, size_t queue_limit)
    : max_threads_(threads), queue_limit_(queue_limit) {}

BlockingPool::~BlockingPool() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    threads = std::move(threads_);
  }
  work_.notify_all();
  for (std::thread& t : threads) t.join();
}

bool BlockingPool::Submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= queue_limit_) return false;
    queue_.push_back(std::move(job));
    // Threads start as jobs come, so a server without blocking handlers has none.
    if (static_cast<int>(threads_.size()) < max_threads_) threads_.emplace_back([this] { Run(); });
  }
  work_.notify_one();
  return true;
}

int BlockingPool::threads_started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(threads_.size());
}

void BlockingPool::Run() {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
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
    std::unique_lock<std::mutex> lock(mu_);
    if (cancelled_) return {absl::CancelledError("the connection closed"), ""};
    bool done = m.op == Op::kDone;
    message_ = std::move(m);
    // Under the lock: Cancel() waits for it, so the worker's loop still exists while it runs.
    wake_();
    if (done) return {};
    answered_.wait(lock, [this] { return cancelled_ || reply_.has_value(); });
    if (!reply_.has_value()) return {absl::CancelledError("the connection closed"), ""};
    Reply r = std::move(*reply_);
    reply_.reset();
    return r;
  }

  // Worker: the posted message, if there is one.
  std::optional<Message> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<Message> m = std::move(message_);
    message_.reset();
    return m;
  }
  void Answer(Reply r) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      reply_ = std::move(r);
    }
    answered_.notify_one();
  }
  // Worker: the request is over; every call from now on fails, the one waiting too.
  void Cancel() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
    }
    answered_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable answered_;  // reply_ was set, or cancelled_
  std::function<void()> wake_;
  std::optional<Message> message_;  // guarded by mu_
  std::optional<Reply> reply_;      // guarded by mu_
  bool cancelled_ = false;          // guarded by mu_
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
    // On the pool's thread: an exception must not end the process from there either.
    Outcome o = internal::CallHandler("(a blocking handler)", [&] { return (*handler)(br); });
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

std::function<Outcome(Request&)> Blocking(std::function<Outcome(BlockingRequest&)> handler) {
  auto shared = std::make_shared<const std::function<Outcome(BlockingRequest&)>>(std::move(handler));
  auto run = Coroutine<Request>([shared](Request& r) -> Task<Outcome> {
    const ServerRecord* server = r.connection().server();
    BlockingPool* pool = server == nullptr ? nullptr : server->blocking_pool;
    if (pool == nullptr) co_return Outcome::Status(503);
    co_return co_await RunBlocking(r, pool, shared);
  });
  return run;
}

}  // namespace brigade::handlers
