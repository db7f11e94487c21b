// Tensor basics: dtypes, factories, views sharing storage, copies,
// conversions, element access, printing, and error messages.
#include <cmath>
#include <limits>

#include "test_util.h"

namespace lamina {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(Tensor, FactoriesAndDtypes) {
  for (DType dt : {DType::float32, DType::float64, DType::int32, DType::int64, DType::uint8, DType::bool_}) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor z = zeros({2, 3}, dt), o = ones({2, 3}, dt), f = full({2, 3}, 1, dt);
    EXPECT_EQ(z.dtype(), dt);
    EXPECT_EQ(z.shape(), (Shape{2, 3}));
    EXPECT_EQ(z.to_vector<double>(), std::vector<double>(6, 0));
    EXPECT_EQ(o.to_vector<double>(), std::vector<double>(6, 1));
    EXPECT_EQ(f.to_vector<double>(), std::vector<double>(6, 1));
    EXPECT_EQ(z.itemsize(), itemsize(dt));
    EXPECT_EQ(dtype_from_name(dtype_name(dt)), dt);
  }
  EXPECT_EQ(arange(5).to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(1, 2, 0.25, DType::float64).to_vector<double>(), (std::vector<double>{1, 1.25, 1.5, 1.75}));
  EXPECT_EQ(arange(3, 0, -1, DType::int64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 2, 1}));
  EXPECT_EQ(arange(3, 0).numel(), 0);
  EXPECT_THROW(arange(0, 1, 0), ValueError);
  EXPECT_THROW(dtype_from_name("float16"), ValueError);
}

TEST(Tensor, FloatToIntegerConversionsSaturate) {
  // Out-of-range and NaN values have a defined result (static_cast would be UB).
  const Tensor x = Tensor::from(std::vector<double>{300, -5, std::nan(""), 1e30, -1e30, 2.7, -2.7}, {7});
  EXPECT_EQ(x.to(DType::uint8).to_vector<int>(), (std::vector<int>{255, 0, 0, 255, 0, 2, 0}));
  EXPECT_EQ(x.to(DType::int32).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{300, -5, 0, INT32_MAX, INT32_MIN, 2, -2}));
  EXPECT_EQ(x.to(DType::int64).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{300, -5, 0, INT64_MAX, INT64_MIN, 2, -2}));
  EXPECT_EQ(x.to(DType::bool_).to_vector<int>(), (std::vector<int>{1, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(full({2}, 1e10, DType::int32).to_vector<std::int64_t>(), (std::vector<std::int64_t>(2, INT32_MAX)));
  EXPECT_EQ(Tensor::scalar(1e20).item<std::int64_t>(), INT64_MAX);
  EXPECT_EQ(Tensor::scalar(-0.5).item<bool>(), true);
  // Integer aranges wrap like NumPy's.
  EXPECT_EQ(arange(254, 258, 1, DType::uint8).to_vector<int>(), (std::vector<int>{254, 255, 0, 1}));
}

TEST(Tensor, StorageIs64ByteAligned) {
  for (std::int64_t n : {1, 3, 17, 1000, 100000}) {
    Tensor t = empty({n});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64, 0u);
  }
}

TEST(Tensor, FromValuesChecksCount) {
  Tensor t = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.dtype(), DType::int32);
  EXPECT_EQ(t.at<int>(1, 2), 6);
  EXPECT_EQ(t.at<int>(-1, -3), 4);
  EXPECT_THAT([] { Tensor::from({1.f, 2.f}, {3}); },
              ThrowsMessage<ShapeError>(HasSubstr("2 values cannot fill shape (3,)")));
  EXPECT_THAT([&] { (void)t.at<int>(2, 0); }, ThrowsMessage<IndexError>(HasSubstr("index 2 is out of range for axis 0")));
  EXPECT_THAT([&] { (void)t.data<float>(); }, ThrowsMessage<DTypeError>(HasSubstr("tensor has dtype int32, requested float32")));
  EXPECT_THAT([&] { (void)t.item<int>(); }, ThrowsMessage<ValueError>(HasSubstr("[item] expected a tensor with one element")));
}

TEST(Tensor, ReshapeIsAViewWhenContiguous) {
  Tensor t = arange(24).reshape({2, 3, 4});
  Tensor v = t.reshape({6, -1});
  EXPECT_EQ(v.shape(), (Shape{6, 4}));
  EXPECT_TRUE(v.shares_storage(t));
  EXPECT_EQ(v.at<float>(5, 3), 23);
  // Transposed data cannot be viewed flat: reshape copies, view throws.
  Tensor tt = t.transpose(0, 2);
  Tensor r = tt.reshape({-1});
  EXPECT_FALSE(r.shares_storage(t));
  EXPECT_EQ(r.at<float>(1), 12);
  EXPECT_THAT([&] { tt.view({24}); }, ThrowsMessage<ShapeError>(HasSubstr("without copying; use reshape()")));
  // Splitting an axis of a strided view is still a view.
  Tensor rows = arange(40).reshape({10, 4}).slice(0, 0, 10, 2);  // (5, 4), row stride 8
  Tensor split = rows.view({5, 2, 2});
  EXPECT_TRUE(split.shares_storage(rows));
  EXPECT_EQ(split.at<float>(4, 1, 1), 35);
  EXPECT_THAT([&] { t.reshape({5, 5}); }, ThrowsMessage<ShapeError>(HasSubstr("cannot reshape (2, 3, 4) (24 elements) into (5, 5)")));
  EXPECT_THROW(t.reshape({-1, -1}), ShapeError);
}

TEST(Tensor, TransposePermuteSliceSelect) {
  Tensor t = arange(24).reshape({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.at<float>(3, 1, 2), t.at<float>(1, 2, 3));
  EXPECT_FALSE(p.is_contiguous());
  EXPECT_TRUE(p.contiguous().is_contiguous());
  EXPECT_EQ(p.contiguous().at<float>(3, 1, 2), 23);
  Tensor s = t.slice(2, 1, 4, 2);
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(s.at<float>(1, 2, 1), 23);
  EXPECT_EQ(t.slice(0, -1, 100).shape(), (Shape{1, 3, 4}));
  EXPECT_EQ(t.slice(1, 2, 1).shape(), (Shape{2, 0, 4}));
  Tensor row = t[1];
  EXPECT_EQ(row.shape(), (Shape{3, 4}));
  EXPECT_TRUE(row.shares_storage(t));
  EXPECT_EQ(row.at<float>(0, 0), 12);
  EXPECT_THROW(t.select(0, 2), IndexError);
  EXPECT_THROW(t.permute({0, 0, 1}), ValueError);
  EXPECT_THROW(t.permute({0, 1}), ShapeError);
  EXPECT_THROW(t.t(), ShapeError);
}

TEST(Tensor, BroadcastToSqueezeUnsqueezeFlatten) {
  Tensor b = Tensor::from({1.f, 2.f, 3.f});
  Tensor e = b.broadcast_to({4, 3});
  EXPECT_EQ(e.strides(), (Shape{0, 1}));
  EXPECT_EQ(e.at<float>(3, 2), 3);
  EXPECT_THAT([&] { b.broadcast_to({4, 2}); }, ThrowsMessage<ShapeError>(HasSubstr("cannot broadcast (3,) to (4, 2)")));
  EXPECT_EQ(b.unsqueeze(0).shape(), (Shape{1, 3}));
  EXPECT_EQ(b.unsqueeze(-1).shape(), (Shape{3, 1}));
  EXPECT_EQ(b.unsqueeze(1).squeeze(1).shape(), (Shape{3}));
  EXPECT_THROW(b.squeeze(0), ShapeError);
  Tensor t = zeros({2, 3, 4, 5});
  EXPECT_EQ(t.flatten().shape(), (Shape{120}));
  EXPECT_EQ(t.flatten(1).shape(), (Shape{2, 60}));
  EXPECT_EQ(t.flatten(1, 2).shape(), (Shape{2, 12, 5}));
}

TEST(Tensor, CopiesAndConversions) {
  Tensor a = Tensor::from({1.5f, -2.5f, 0.f});
  Tensor c = a.clone();
  EXPECT_FALSE(c.shares_storage(a));
  c.fill_(7);
  EXPECT_EQ(a.at<float>(0), 1.5f);
  EXPECT_EQ(a.to(DType::int32).to_vector<int>(), (std::vector<int>{1, -2, 0}));
  EXPECT_EQ(a.to(DType::bool_).to_vector<int>(), (std::vector<int>{1, 1, 0}));
  EXPECT_EQ(a.to(DType::float64).to_vector<double>(), (std::vector<double>{1.5, -2.5, 0}));
  EXPECT_TRUE(a.to(DType::float32).shares_storage(a));
  Tensor dst = zeros({2, 3}, DType::float64);
  dst.copy_(a);  // broadcast + convert
  EXPECT_EQ(dst.to_vector<double>(), (std::vector<double>{1.5, -2.5, 0, 1.5, -2.5, 0}));
  Tensor big = uniform({300, 301}, -1, 1, 1);
  Tensor bt = big.t().contiguous();
  for (int i : {0, 17, 299}) EXPECT_EQ(bt.at<float>(i % 301, i), big.at<float>(i, i % 301));
}

TEST(Tensor, PrintsLikeNumPy) {
  EXPECT_EQ(Tensor::from({1.f, 2.f, 3.f, 4.f}, {2, 2}).str(), "tensor([[1., 2.],\n        [3., 4.]], dtype=float32)");
  EXPECT_EQ(Tensor::from({0.5, -0.25}).str(), "tensor([ 0.5000, -0.2500], dtype=float64)");
  EXPECT_EQ(Tensor::from<std::int64_t>({3, -10}).str(), "tensor([  3, -10], dtype=int64)");
  EXPECT_EQ(Tensor::from<bool>({true, false}).str(), "tensor([ True, False], dtype=bool)");
  EXPECT_EQ(Tensor::scalar(2).str(), "tensor(2., dtype=float32)");
  EXPECT_EQ(zeros({0, 3}).str(), "tensor([], shape=(0, 3), dtype=float32)");
  EXPECT_THAT(arange(2000).str(), HasSubstr("[   0.,    1.,    2., ..., 1997., 1998., 1999.]"));
  EXPECT_EQ(Tensor().str(), "tensor(undefined)");
}

TEST(Tensor, UndefinedAndNegativeShapesThrow) {
  Tensor u;
  EXPECT_FALSE(u.defined());
  EXPECT_THAT([&] { (void)u.shape(); }, ThrowsMessage<ValueError>(HasSubstr("operation on an undefined tensor")));
  EXPECT_THROW((void)u.raw_data(), ValueError);
  EXPECT_THROW(core::relu(u), ValueError);
  EXPECT_THROW(core::add(u, ones({1})), ValueError);
  EXPECT_THAT([] { zeros({2, -1}); }, ThrowsMessage<ValueError>(HasSubstr("negative extent in shape (2, -1)")));
  EXPECT_THROW(zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}), ValueError);
  // Too large to address: a clear error instead of a signed overflow, also
  // when a zero extent makes the tensor empty (its strides would still overflow;
  // the loader fuzzer found this one).
  const std::int64_t big = std::int64_t{1} << 40;
  EXPECT_THAT([&] { (void)Tensor::empty({big, big}, DType::float32); },
              ThrowsMessage<ValueError>(HasSubstr("too large to address")));
  EXPECT_THAT([&] { (void)Tensor::empty({0, big, big}, DType::float32); },
              ThrowsMessage<ValueError>(HasSubstr("too large to address")));
  EXPECT_EQ(Tensor::empty({0, 1 << 20, 1 << 20}, DType::float32).numel(), 0);
}

TEST(Tensor, HandlesShareAndRelease) {
  const auto before = allocator_stats().bytes_in_use;
  {
    Tensor a = zeros({1000});
    Tensor b = a;          // shares
    Tensor c = std::move(b);
    EXPECT_TRUE(c.shares_storage(a));
    Tensor v = a.slice(0, 10, 20);
    a = Tensor();
    EXPECT_EQ(v.at<float>(0), 0);  // the view keeps the storage alive
  }
  EXPECT_EQ(allocator_stats().bytes_in_use, before);
}

TEST(Threads, SetAndGet) {
  const int saved = get_num_threads();
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  set_num_threads(2);
  EXPECT_EQ(get_num_threads(), 2);
  EXPECT_THROW(set_num_threads(0), ValueError);
  set_num_threads(saved);
}

TEST(Isa, DispatchCanBeForced) {
  auto isas = supported_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::sse42);
  EXPECT_EQ(current_isa(), isas.back());
  set_isa(Isa::sse42);
  EXPECT_EQ(current_isa(), Isa::sse42);
  set_isa(isas.back());
  if (!isa_supported(Isa::avx512)) {
    EXPECT_THAT([] { set_isa(Isa::avx512); }, ThrowsMessage<ValueError>(HasSubstr("does not support avx512")));
  }
}

TEST(Tensor, EmptyTensorsPrintWithoutWalkingTheirAxes) {
  // (1e9, 0) has no elements; printing must not visit a billion rows.
  EXPECT_EQ(zeros({1000000000, 0}).str(), "tensor([], shape=(1000000000, 0), dtype=float32)");
}

TEST(Tensor, BadViewAndShapeArgumentsThrow) {
  Tensor x = zeros({2, 3});
  EXPECT_THAT([&] { x.broadcast_to({-1, 3}); },
              ::testing::ThrowsMessage<ShapeError>(::testing::HasSubstr("negative extent")));
  Shape s{2, 3};
  EXPECT_THROW(s.insert(3, 1), IndexError);
  EXPECT_THROW(s.insert(-1, 1), IndexError);
  EXPECT_THROW(s.erase(2), IndexError);
  EXPECT_THROW(Shape{}.erase(0), IndexError);
  s.insert(2, 7);
  EXPECT_EQ(s, (Shape{2, 3, 7}));
  s.erase(0);
  EXPECT_EQ(s, (Shape{3, 7}));
  // A huge step takes the first element only (no overflow in the length).
  Tensor r = arange(0, 30, 1, DType::int64).reshape({10, 3});
  Tensor one = r.slice(0, 2, 10, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(one.shape(), (Shape{1, 3}));
  EXPECT_EQ(one.to_vector<std::int64_t>(), (std::vector<std::int64_t>{6, 7, 8}));
}

TEST(Tensor, ArangeRejectsNonFiniteAndHugeRangesAndStoresBoolsAsZeroOrOne) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THAT([&] { arange(0, inf, 1); }, ::testing::ThrowsMessage<ValueError>(::testing::HasSubstr("finite")));
  EXPECT_THAT([&] { arange(0, 1, std::nan("")); }, ::testing::Throws<ValueError>());
  EXPECT_THAT([&] { arange(0, 1e300, 1); }, ::testing::ThrowsMessage<ValueError>(::testing::HasSubstr("elements")));
  Tensor b = arange(0, 4, 1, DType::bool_);
  EXPECT_EQ(b.to_vector<std::uint8_t>(), (std::vector<std::uint8_t>{0, 1, 1, 1}));
  EXPECT_EQ(core::sum(b).item<std::int64_t>(), 3);
}

TEST(Tensor, AllocationFailureIsAMemoryErrorNamingTheSize) {
  // 2^50 floats (4 PiB) is more than any address space holds. (Under
  // ASan the preset sets allocator_may_return_null so that it fails the same way.)
  const auto before = allocator_stats();
  EXPECT_THAT([] { Tensor::empty({std::int64_t{1} << 50}, DType::float32); },
              ::testing::ThrowsMessage<MemoryError>(::testing::StrEq(
                  "[empty] cannot allocate 4503599627370496 bytes for a float32 tensor of shape (1125899906842624,)")));
  const auto after = allocator_stats();
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use);
  EXPECT_EQ(after.allocations, before.allocations);
}

}  // namespace
}  // namespace lamina
