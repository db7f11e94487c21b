// A short tour of lamina's core: tensors, views, kernels, reductions.
#include <lamina/lamina.h>

#include <iostream>

int main() {
  using namespace lamina;
  std::cout << "kernels use " << isa_name(current_isa()) << " on " << get_num_threads() << " thread(s)\n";
  auto x = Tensor::from({-2.f, -1.f, 0.f, 1.f, 2.f, 3.f}, {2, 3});
  std::cout << "x = " << x << "\n";
  std::cout << "x.T = " << x.t() << "\n";
  std::cout << "relu(x) = " << core::relu(x) << "\n";
  std::cout << "x + [10, 20, 30] = " << core::add(x, Tensor::from({10.f, 20.f, 30.f})) << "\n";
  std::cout << "sum(x, axis 1) = " << core::sum(x, {1}) << "\n";
  std::cout << "softmax(x) = " << core::softmax(x) << "\n";
  auto big = uniform({1000, 1000}, -1.0, 1.0, /*seed=*/42);
  std::cout << "mean of 1e6 uniform(-1, 1) = " << core::mean(big).item<float>() << "\n";
  return 0;
}
