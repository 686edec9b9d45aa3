#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/mapped_file.h"
#include "base/parallel.h"
#include "base/rng.h"

namespace r1 {
namespace {

TEST(Strfmt, FormatsLongStrings) {
    EXPECT_EQ(strfmt("%s=%d", "a", 3), "a=3");
    std::string big(1000, 'x');
    EXPECT_EQ(strfmt("%s!", big.c_str()), big + "!");
}

TEST(Error, FailThrowsWithMessage) {
    try {
        fail("tensor '%s' is missing", "x");
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "tensor 'x' is missing");
    }
}

TEST(Rng, IsDeterministicAndDerivesIndependentStreams) {
    Rng a(42), b(42), c(43);
    for (int i = 0; i < 100; i++) EXPECT_EQ(a.next_u64(), b.next_u64());
    EXPECT_NE(Rng(42).next_u64(), c.next_u64());
    EXPECT_NE(derive(1, 2, 3), derive(1, 3, 2));
    EXPECT_EQ(derive(1, 2, 3), derive(1, 2, 3));
    // uniform() in [0,1), normal() roughly standard
    Rng r(5);
    double sum = 0, sum2 = 0;
    for (int i = 0; i < 100000; i++) {
        float u = r.uniform();
        ASSERT_GE(u, 0.0f);
        ASSERT_LT(u, 1.0f);
        float z = r.normal();
        sum += z;
        sum2 += static_cast<double>(z) * z;
    }
    EXPECT_NEAR(sum / 100000, 0.0, 0.02);
    EXPECT_NEAR(sum2 / 100000, 1.0, 0.02);
}

TEST(Parallel, CoversEveryIndexOnce) {
    for (int64_t n : {0, 1, 2, 3, 17, 1000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        parallel_for(n, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; i++) hits[static_cast<size_t>(i)]++;
        });
        for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
}

TEST(Parallel, ChunksCoverEveryChunkOnceAtAnyThreadCount) {
    for (int nt : {1, 2, 3, 5}) {
        set_num_threads(nt);
        for (int64_t n : {0, 1, 2, 3, 4, 7, 17, 1000}) {
            std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
            parallel_chunks(n, [&](int64_t b, int64_t e) {
                ASSERT_EQ(e, b + 1);
                hits[static_cast<size_t>(b)]++;
            });
            for (auto& h : hits) EXPECT_EQ(h.load(), 1) << nt << " threads, " << n << " chunks";
        }
    }
    set_num_threads(0);
}

// Each thread takes its own contiguous run front to back (so its prefetches serve itself); what it takes
// after that is stolen from the back of the other runs. One thread sleeping in its first chunk makes the
// others steal; the order rule holds whatever the timing.
TEST(Parallel, ChunksWalkOwnRunInOrderThenSteal) {
    constexpr int kThreads = 3;
    constexpr int64_t n = 30;
    set_num_threads(kThreads);
    std::vector<std::vector<int64_t>> seen(kThreads);
    parallel_chunks(n, [&](int64_t c, int64_t) {
        const int t = omp_get_thread_num();
        if (c == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        seen[static_cast<size_t>(t)].push_back(c);
    });
    set_num_threads(0);
    int64_t total = 0;
    for (int t = 0; t < kThreads; t++) {
        const auto& s = seen[static_cast<size_t>(t)];
        total += static_cast<int64_t>(s.size());
        const int64_t own0 = n * t / kThreads, own1 = n * (t + 1) / kThreads;
        size_t i = 0;
        for (int64_t expect = own0; i < s.size() && s[i] >= own0 && s[i] < own1; i++, expect++)
            EXPECT_EQ(s[i], expect) << "thread " << t << " skipped part of its own run";
        for (size_t j = i; j < s.size(); j++) {
            EXPECT_TRUE(s[j] < own0 || s[j] >= own1) << "thread " << t << " returned to its own run";
            if (j > i && s[j] / (n / kThreads) == s[j - 1] / (n / kThreads))
                EXPECT_LT(s[j], s[j - 1]) << "thread " << t << " stole front to back";
        }
    }
    EXPECT_EQ(total, n);
}

TEST(Files, AtomicWriteAndMap) {
    const std::string dir = ::testing::TempDir();
    const std::string path = dir + "/r1_atomic_test.bin";
    const std::string data = "hello r1";
    write_file_atomic(path, data.data(), data.size());
    MappedFile m(path);
    ASSERT_EQ(m.size(), data.size());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()), m.size()), data);
    EXPECT_EQ(read_file(path), data);
    // No temporary file is left behind.
    for (const auto& e : std::filesystem::directory_iterator(dir))
        EXPECT_EQ(e.path().filename().string().find("r1_atomic_test.bin.tmp"), std::string::npos);
    std::filesystem::remove(path);
    EXPECT_THROW(MappedFile{dir + "/does-not-exist"}, Error);
    EXPECT_THROW(MappedFile{dir}, Error);  // a directory
}

}  // namespace
}  // namespace r1

#include "base/sha256.h"

namespace r1 {
namespace {

TEST(Sha256, KnownVectors) {  // FIPS 180-4 examples
    EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    EXPECT_EQ(sha256_hex(two.data(), two.size()),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    Sha256 s;  // a million 'a', fed in odd pieces
    std::string chunk(997, 'a');
    size_t left = 1000000;
    while (left) {
        const size_t k = std::min(left, chunk.size());
        s.update(chunk.data(), k);
        left -= k;
    }
    EXPECT_EQ(s.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace r1
