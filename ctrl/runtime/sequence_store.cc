#include "ctrl/runtime/sequence_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/key_file.h"
#include "common/numbers.h"

namespace meshplane::ctrl {
namespace {

config::Status io_error(const std::string& what, const std::string& path) {
  return config::Status::failure(config::Status::Code::kExhausted,
                                 fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

}  // namespace

SequenceStore::Fingerprint SequenceStore::fingerprint(const config::Secret& key) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(key.bytes().data(), key.bytes().size(), digest);
  Fingerprint f;
  std::memcpy(f.data(), digest, f.size());
  return f;
}

config::Status SequenceStore::load() {
  std::ifstream in(path_);
  if (!in) return errno == ENOENT ? config::Status{} : io_error("cannot read", path_);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string spi_hex, print;
    uint64_t mark = 0;
    fields >> spi_hex >> print >> mark;
    uint32_t spi = 0;
    const std::vector<uint8_t> bytes = parse_hex_key(print);
    Fingerprint f{};
    if (fields.fail() || !parse_number("0x" + spi_hex, spi) || bytes.size() != f.size())
      return config::Status::failure(config::Status::Code::kInvalid,
                                     fmt::format("{}:{}: not 'SPI FINGERPRINT SEQUENCE'", path_, number));
    std::copy(bytes.begin(), bytes.end(), f.begin());
    marks_[{spi, f}] = mark;
  }
  return {};
}

uint64_t SequenceStore::reserved(uint32_t spi, const config::Secret& key) const {
  auto it = marks_.find({spi, fingerprint(key)});
  return it == marks_.end() ? 0 : it->second;
}

config::Status SequenceStore::reserve(uint32_t spi, const config::Secret& key, uint64_t upto) {
  uint64_t& mark = marks_[{spi, fingerprint(key)}];
  if (upto <= mark) return {};
  const uint64_t before = mark;
  mark = upto;
  config::Status s = save();
  if (!s.ok()) mark = before;
  return s;
}

config::Status SequenceStore::save() const {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  const std::string tmp = path_ + ".tmp";
  std::string text = "# meshplane: outbound ESP sequence numbers reserved, per SPI and key fingerprint\n";
  for (const auto& [id, mark] : marks_) {
    text += fmt::format("{:08x} ", id.first);
    for (uint8_t b : id.second) text += fmt::format("{:02x}", b);
    text += fmt::format(" {}\n", mark);
  }
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot write", tmp);
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!written || rename(tmp.c_str(), path_.c_str()) != 0) return io_error("cannot write", path_);
  const int dir = open(std::filesystem::path(path_).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);  // the rename itself reaches the disk
    close(dir);
  }
  return {};
}

}  // namespace meshplane::ctrl
