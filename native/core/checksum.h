// Checksums for the files torchnas writes and reads: SHA-256 (the sealed-archive trailer) and
// CRC-32 (zip entries; LibTorch's reader skips their CRC check, so we do it before it parses).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace torchnas {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::array<uint8_t, 32> finish();
  static std::string hex(const std::array<uint8_t, 32>& digest);

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(const void* data, size_t size);

uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace torchnas
