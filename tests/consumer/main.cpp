// Uses the installed lamina package; prints the sum of relu(x).
#include <lamina/lamina.h>

#include <iostream>

int main() {
  auto x = lamina::Tensor::from({-1.f, 2.f, -3.f, 4.f}, {2, 2});
  auto y = lamina::core::sum(lamina::core::relu(x));
  std::cout << y.item<float>() << "\n";
  return y.item<float>() == 6.f ? 0 : 1;
}
