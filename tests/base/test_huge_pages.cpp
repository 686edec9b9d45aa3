#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "base/huge_pages.h"
#include "base/mapped_file.h"

namespace r1 {
namespace {

TEST(HugePageAllocator, LargeBlocksAreZeroedAlignedAndUsable) {
    const size_t n = (size_t{5} << 20) / sizeof(uint16_t) + 3;  // 5 MiB and a bit: three 2 MiB pages
    std::vector<uint16_t, HugePageAllocator<uint16_t>> v(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % huge_pages::kHugePage, 0u);
    for (size_t i = 0; i < n; i++) ASSERT_EQ(v[i], 0) << i;
    for (size_t i = 0; i < n; i++) v[i] = static_cast<uint16_t>(i * 7);
    for (size_t i = 0; i < n; i += 4099) EXPECT_EQ(v[i], static_cast<uint16_t>(i * 7));
}

TEST(HugePageAllocator, SmallBlocksAndGrowthKeepTheContents) {
    std::vector<float, HugePageAllocator<float>> v;
    for (int i = 0; i < 1 << 20; i++) v.push_back(static_cast<float>(i));  // 4 MiB: crosses to mapped blocks
    for (int i = 0; i < 1 << 20; i += 997) ASSERT_EQ(v[static_cast<size_t>(i)], static_cast<float>(i));
    v.resize(10);
    v.shrink_to_fit();  // back to an ordinary small block
    EXPECT_EQ(v.size(), 10u);
    EXPECT_EQ(v[9], 9.0f);
}

TEST(HugePageAllocator, RoundsToWholeHugePages) {
    EXPECT_EQ(huge_pages::rounded(1), huge_pages::kHugePage);
    EXPECT_EQ(huge_pages::rounded(huge_pages::kHugePage), huge_pages::kHugePage);
    EXPECT_EQ(huge_pages::rounded(huge_pages::kHugePage + 1), 2 * huge_pages::kHugePage);
}

TEST(MappedFile, MapsTheFileOnA2MiBBoundaryWithItsContents) {
    const std::string path = ::testing::TempDir() + "r1_mapped_" + std::to_string(::getpid()) + ".bin";
    std::string bytes(3 * 1000 * 1000 + 17, '\0');  // not a whole number of pages
    for (size_t i = 0; i < bytes.size(); i++) bytes[i] = static_cast<char>(i * 131 + 7);
    write_file_atomic(path, bytes.data(), bytes.size());
    {
        MappedFile f(path);
        ASSERT_EQ(f.size(), bytes.size());
        EXPECT_EQ(reinterpret_cast<uintptr_t>(f.data()) % huge_pages::kHugePage, 0u);
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.data()), f.size()), bytes);
    }
    std::remove(path.c_str());
}

}  // namespace
}  // namespace r1
