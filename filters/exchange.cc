#include "filters/exchange.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_join.h"

namespace brigade::filters {
namespace {

// A name's bit in Store::names: by length and first byte, the same for every spelling
// SameName matches.
inline uint64_t NameBit(absl::string_view name) {
  unsigned first = name.empty() ? 0 : static_cast<unsigned char>(name[0]) | 0x20;
  return uint64_t{1} << ((name.size() * 5 + first) & 63);
}

}  // namespace

HeaderMap::HeaderMap(const HeaderMap& other) { CopyFrom(other); }

HeaderMap& HeaderMap::operator=(const HeaderMap& other) {
  if (this != &other) {
    Clear();
    CopyFrom(other);
  }
  return *this;
}

void HeaderMap::CopyFrom(const HeaderMap& other) {
  for (const Field& f : other) Add(f.first, f.second);
}

void HeaderMap::ClearStore() {
  Store& s = *store_;
  s.fields.clear();
  s.blocks.clear();
  s.tail = s.text;
  s.tail_left = kInlineText;
  s.stored = 0;
  s.live = 0;
  s.names = 0;
  s.last_found = UINT32_MAX;
}

bool HeaderMap::Holds(absl::string_view text) const {
  auto in = [&text](const char* block, size_t size) {
    return text.data() >= block && text.data() < block + size;
  };
  if (in(store_->text, kInlineText)) return true;
  for (const Block& block : store_->blocks) {
    if (in(block.data.get(), block.size)) return true;
  }
  return false;
}

template <typename HoldsSource>
char* HeaderMap::Reserve(size_t n, HoldsSource holds_source) {
  // `new Store` and not make_unique, whose value-initialisation would zero the inline text.
  if (store_ == nullptr) store_.reset(new Store);
  Store* s = store_.get();
  // Text left behind by Set and Remove is bounded by what is live: a handler that sets a
  // field in a loop costs no more than the fields it keeps. Not while the new text is a view
  // of the old (copying one field to another), which the compaction would free.
  if (n > s->tail_left && s->stored - s->live > std::max(s->live, kInlineText) &&
      !holds_source()) {
    Compact();
    s = store_.get();
  }
  if (n > s->tail_left) {
    size_t size = std::max({kMinBlock, s->blocks.empty() ? 0 : 2 * s->blocks.back().size, n});
    s->blocks.push_back({std::make_unique<char[]>(size), size});
    s->tail = s->blocks.back().data.get();
    s->tail_left = size;
  }
  char* at = s->tail;
  s->tail += n;
  s->tail_left -= n;
  s->stored += n;
  return at;
}

void HeaderMap::Compact() {
  HeaderMap live(*this);
  *this = std::move(live);
}

inline void HeaderMap::Append(char* at, absl::string_view name, absl::string_view value) {
  if (!name.empty()) memcpy(at, name.data(), name.size());
  if (!value.empty()) memcpy(at + name.size(), value.data(), value.size());
  store_->fields.emplace_back(absl::string_view(at, name.size()),
                              absl::string_view(at + name.size(), value.size()));
  store_->live += name.size() + value.size();
  store_->names |= NameBit(name);
}

void HeaderMap::Add(absl::string_view name, absl::string_view value) {
  // One reservation for both, made before the field goes in: a compaction it makes moves only
  // the fields already there.
  char* at = Reserve(name.size() + value.size(),
                     [&] { return Holds(name) || Holds(value); });
  Append(at, name, value);
}

void HeaderMap::Add(std::initializer_list<Field> fields) {
  size_t n = 0;
  for (const Field& f : fields) n += f.first.size() + f.second.size();
  char* at = Reserve(n, [&] {
    for (const Field& f : fields) {
      if (Holds(f.first) || Holds(f.second)) return true;
    }
    return false;
  });
  for (const Field& f : fields) {
    Append(at, f.first, f.second);
    at += f.first.size() + f.second.size();
  }
}

void HeaderMap::Set(absl::string_view name, absl::string_view value) {
  size_t first = 0;
  size_t n = size();
  while (first < n && !FieldNamesEqual(store_->fields[first].first, name)) ++first;
  if (first == n) return Add(name, value);
  // The first field keeps its place (and its name's spelling); later ones of the name go.
  EraseFrom(first + 1, name);
  store_->live -= store_->fields[first].second.size();
  // Out of the live text, should Reserve compact.
  store_->fields[first].second = absl::string_view();
  char* at = Reserve(value.size(), [&] { return Holds(value); });
  if (!value.empty()) memcpy(at, value.data(), value.size());
  store_->fields[first].second = absl::string_view(at, value.size());
  store_->live += value.size();
}

size_t HeaderMap::Remove(absl::string_view name) { return EraseFrom(0, name); }

size_t HeaderMap::EraseFrom(size_t from, absl::string_view name) {
  if (store_ == nullptr) return 0;
  Store& s = *store_;
  size_t kept = from;
  for (size_t i = from; i < s.fields.size(); ++i) {
    if (FieldNamesEqual(s.fields[i].first, name)) {
      s.live -= s.fields[i].first.size() + s.fields[i].second.size();
    } else {
      s.fields[kept++] = s.fields[i];
    }
  }
  size_t removed = s.fields.size() - kept;
  s.fields.resize(kept);
  if (removed != 0) s.last_found = UINT32_MAX;
  return removed;
}

std::optional<absl::string_view> HeaderMap::Get(absl::string_view name) const {
  if (store_ == nullptr || !(store_->names & NameBit(name))) return std::nullopt;
  Store& s = *store_;
  const size_t n = s.fields.size();
  if (s.last_found < n && FieldNamesEqual(s.fields[s.last_found].first, name)) {
    return s.fields[s.last_found].second;
  }
  for (size_t i = 0; i < n; ++i) {
    if (FieldNamesEqual(s.fields[i].first, name)) {
      s.last_found = static_cast<uint32_t>(i);
      return s.fields[i].second;
    }
  }
  return std::nullopt;
}

std::vector<absl::string_view> HeaderMap::GetAll(absl::string_view name) const {
  std::vector<absl::string_view> out;
  if (store_ == nullptr || !(store_->names & NameBit(name))) return out;
  for (const Field& f : *this) {
    if (FieldNamesEqual(f.first, name)) out.push_back(f.second);
  }
  return out;
}

std::string HeaderMap::GetCombined(absl::string_view name) const {
  return absl::StrJoin(GetAll(name), ", ");
}

}  // namespace brigade::filters
