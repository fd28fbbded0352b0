#include "verified_archive.h"

#include <fcntl.h>
#include <zlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "checksum.h"
#include "errors.h"

namespace torchnas {

namespace {

constexpr uint32_t kEocdSig = 0x06054b50, kZip64LocatorSig = 0x07064b50, kZip64EocdSig = 0x06064b50;
constexpr uint32_t kCentralSig = 0x02014b50, kLocalSig = 0x04034b50;
constexpr size_t kEocdSize = 22, kCentralSize = 46, kLocalSize = 30;
// LibTorch deflates small text records (TorchScript code); bigger deflated entries are not its own.
constexpr uint64_t kMaxDeflatedEntryBytes = 256ull << 20;

uint64_t le(const std::string& b, uint64_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<uint64_t>(i)]);
  return v;
}

struct Corrupt {
  const std::string& path;
  [[noreturn]] void operator()(const std::string& what) const {
    fail("FILE_CORRUPT", "cannot read " + path + ": " + what + " (the file is damaged, truncated or not a torchnas/LibTorch archive)");
  }
};

const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

// Inflates a raw-deflate entry in 64 KiB steps (never more than `size` bytes, never all at once) and
// checks its length and CRC-32.
bool deflated_entry_ok(const std::string& b, uint64_t data, uint64_t comp, uint64_t size, uint32_t crc) {
  if (comp > UINT32_MAX || size > kMaxDeflatedEntryBytes) return false;
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) fail("OUT_OF_MEMORY", "cannot start zlib to check an archive");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(b.data() + data));
  zs.avail_in = static_cast<uInt>(comp);
  unsigned char out[1 << 16];
  uint64_t total = 0;
  uint32_t got = 0;
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = out;
    zs.avail_out = sizeof out;
    rc = inflate(&zs, Z_NO_FLUSH);
    const size_t n = sizeof out - zs.avail_out;
    total += n;
    if (total > size) break;
    got = crc32(out, n, got);
    if (rc == Z_OK && n == 0 && zs.avail_in == 0) break;  // input ended before the stream did
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END && total == size && got == crc;
}

// Walks the central directory and every local entry; returns the entry count.
uint64_t check_zip(const std::string& b, const Corrupt& corrupt) {
  const uint64_t size = b.size();
  if (size < kEocdSize) corrupt("too short to be an archive (" + std::to_string(size) + " bytes)");
  // The End Of Central Directory record: its comment must end exactly at the end of the file.
  uint64_t eocd = UINT64_MAX;
  const uint64_t lowest = size >= kEocdSize + 0xFFFF ? size - kEocdSize - 0xFFFF : 0;
  for (uint64_t p = size - kEocdSize + 1; p-- > lowest;) {
    if (le(b, p, 4) == kEocdSig && p + kEocdSize + le(b, p + 20, 2) == size) {
      eocd = p;
      break;
    }
  }
  if (eocd == UINT64_MAX) corrupt("no zip end-of-central-directory record at its end");
  if (le(b, eocd + 4, 2) != 0 || le(b, eocd + 6, 2) != 0) corrupt("a multi-disk zip");
  uint64_t entries = le(b, eocd + 10, 2), cd_size = le(b, eocd + 12, 4), cd_offset = le(b, eocd + 16, 4);
  uint64_t cd_limit = eocd;  // the central directory ends before this offset
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (eocd < 20 || le(b, eocd - 20, 4) != kZip64LocatorSig) corrupt("a zip64 archive without its locator");
    const uint64_t z = le(b, eocd - 20 + 8, 8);
    if (z > eocd - 20 || eocd - 20 - z < 56 || le(b, z, 4) != kZip64EocdSig) corrupt("a zip64 end record out of bounds");
    entries = le(b, z + 32, 8), cd_size = le(b, z + 40, 8), cd_offset = le(b, z + 48, 8);
    cd_limit = z;
  }
  if (entries == 0 || entries > kMaxArchiveEntries) corrupt("an entry count of " + std::to_string(entries));
  if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset) corrupt("a central directory outside the file");
  if (cd_size / kCentralSize < entries) corrupt("a central directory too small for " + std::to_string(entries) + " entries");
  const uint64_t cd_end = cd_offset + cd_size;
  uint64_t q = cd_offset;
  for (uint64_t i = 0; i < entries; ++i) {
    const std::string entry = "entry " + std::to_string(i);
    if (cd_end - q < kCentralSize || le(b, q, 4) != kCentralSig) corrupt(entry + ": a broken central directory record");
    const uint64_t method = le(b, q + 10, 2), crc = le(b, q + 16, 4);
    uint64_t comp = le(b, q + 20, 4), uncomp = le(b, q + 24, 4), local = le(b, q + 42, 4);
    const uint64_t name_len = le(b, q + 28, 2), extra_len = le(b, q + 30, 2), comment_len = le(b, q + 32, 2);
    if (cd_end - q - kCentralSize < name_len + extra_len + comment_len) corrupt(entry + ": its name runs past the directory");
    if (name_len == 0) corrupt(entry + ": an empty name");
    // zip64 sizes/offset live in extra field 0x0001, in this order, for the fields set to 0xFFFFFFFF.
    uint64_t x = q + kCentralSize + name_len, x_end = x + extra_len;
    while (x_end - x >= 4) {
      const uint64_t id = le(b, x, 2), len = le(b, x + 2, 2);
      if (x_end - x - 4 < len) corrupt(entry + ": a broken extra field");
      if (id == 1) {
        uint64_t f = x + 4, f_end = f + len;
        for (uint64_t* v : {&uncomp, &comp, &local}) {
          if (*v != 0xFFFFFFFF) continue;
          if (f_end - f < 8) corrupt(entry + ": a short zip64 extra field");
          *v = le(b, f, 8), f += 8;
        }
      }
      x += 4 + len;
    }
    if (method != 0 && method != 8) corrupt(entry + ": compression method " + std::to_string(method) + " (LibTorch writes 0 or 8)");
    if (method == 0 && comp != uncomp) corrupt(entry + ": a stored entry whose two sizes differ");
    if (local > cd_offset || cd_offset - local < kLocalSize || le(b, local, 4) != kLocalSig) {
      corrupt(entry + ": a local header outside the file");
    }
    const uint64_t data = local + kLocalSize + le(b, local + 26, 2) + le(b, local + 28, 2);
    if (data > cd_offset || cd_offset - data < comp) {
      corrupt(entry + ": " + std::to_string(comp) + " bytes of data that do not fit in the file");
    }
    const bool ok = method == 0 ? crc32(b.data() + data, comp) == crc : deflated_entry_ok(b, data, comp, uncomp, static_cast<uint32_t>(crc));
    if (!ok) corrupt(entry + " (" + b.substr(q + kCentralSize, name_len) + "): a CRC-32 mismatch or damaged data");
    q += kCentralSize + name_len + extra_len + comment_len;
  }
  return entries;
}

}  // namespace

std::string read_regular_file(const std::string& path, const std::string& what) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) fail("FILE_NOT_FOUND", "file not found: " + path);
    fail("INVALID_ARGUMENT", "cannot open " + path + " to read " + what + ": " + std::strerror(err));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("INVALID_ARGUMENT", "cannot stat " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    fail("INVALID_ARGUMENT", "expected a file holding " + what + " but " + path + " is " + kind_of(st.st_mode));
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');  // a regular file's real size; bad_alloc -> OUT_OF_MEMORY
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, &bytes[got], bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("INVALID_ARGUMENT", "cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) break;  // shrank while reading
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  return bytes;
}

std::string seal_archive(std::string zip) {
  const size_t n = zip.size();
  if (n < kEocdSize || le(zip, n - kEocdSize, 4) != kEocdSig || le(zip, n - 2, 2) != 0) {
    fail("INTERNAL", "LibTorch wrote an archive without a plain end-of-central-directory record");
  }
  zip[n - 2] = static_cast<char>(kArchiveTrailerSize & 0xFF);
  zip[n - 1] = static_cast<char>(kArchiveTrailerSize >> 8);
  char trailer[kArchiveTrailerSize + 1];
  std::snprintf(trailer, sizeof trailer, "%s%d %020llu %s\n", kArchiveTrailerMagic, kArchiveFormatVersion,
                static_cast<unsigned long long>(n), sha256_hex(zip.data(), n).c_str());
  zip.append(trailer, kArchiveTrailerSize);
  return zip;
}

ArchiveCheck verify_archive(const std::string& bytes, const std::string& path) {
  const Corrupt corrupt{path};
  ArchiveCheck result;
  const size_t magic_len = std::strlen(kArchiveTrailerMagic);
  if (bytes.size() >= kArchiveTrailerSize + kEocdSize &&
      bytes.compare(bytes.size() - kArchiveTrailerSize, magic_len, kArchiveTrailerMagic) == 0) {
    const std::string t = bytes.substr(bytes.size() - kArchiveTrailerSize);
    if (t[magic_len] != '0' + kArchiveFormatVersion || t[magic_len + 1] != ' ') {
      corrupt("archive format '" + t.substr(magic_len, 1) + "' (this torchnas reads format " +
              std::to_string(kArchiveFormatVersion) + ")");
    }
    const std::string length = t.substr(magic_len + 2, 20), digest = t.substr(magic_len + 23, 64);
    if (length.find_first_not_of("0123456789") != std::string::npos || t[magic_len + 22] != ' ' || t.back() != '\n') {
      corrupt("a damaged torchnas trailer");
    }
    const uint64_t payload = bytes.size() - kArchiveTrailerSize;
    const uint64_t declared = std::strtoull(length.c_str(), nullptr, 10);
    if (declared != payload) {
      corrupt("the trailer declares " + std::to_string(declared) + " bytes but " + std::to_string(payload) +
              " precede it (truncated or extended)");
    }
    if (sha256_hex(bytes.data(), payload) != digest) corrupt("a SHA-256 mismatch");
    result.sealed = true;
  }
  result.entries = check_zip(bytes, corrupt);
  return result;
}

}  // namespace torchnas
