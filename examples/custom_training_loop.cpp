// "Writing a training loop from scratch" in C++: GradientTape + optimizer on
// Fashion-MNIST (a 784-64-64-10 MLP, two epochs over the first 20000 images).
//   custom_training_loop [DATA_DIR]
#include <lamina/lamina.h>

#include <cstdio>

using namespace lamina;

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  try {
    set_random_seed(1);
    auto mnist = data::load_mnist(dir);
    auto train = data::Dataset(mnist.x_train.slice(0, 0, 20000), mnist.y_train.slice(0, 0, 20000))
                     .shuffle(7)
                     .batch(64)
                     .map(data::cast_x(DType::float32, 1.0 / 255));
    Sequential model({std::make_shared<layers::Flatten>(),
                      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 64, .activation = "relu"}),
                      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 64, .activation = "relu"}),
                      std::make_shared<layers::Dense>(layers::DenseOptions{.units = 10})});
    optim::Adam optimizer(optim::AdamConfig{.learning_rate = 1e-3});
    losses::SparseCategoricalCrossentropy loss_fn({.from_logits = true});
    metrics::SparseCategoricalAccuracy accuracy;

    for (int epoch = 0; epoch < 2; ++epoch) {
      std::printf("Start of epoch %d\n", epoch);
      int step = 0;
      for (const data::Batch& batch : train.epoch(epoch)) {
        Tensor loss;
        std::vector<Tensor> grads;
        {
          GradientTape tape;
          Tensor logits = model(batch.x, /*training=*/true);
          loss = loss_fn(batch.y, logits);
          for (const Tensor& extra : model.losses()) loss = loss + extra;  // add_loss terms
          grads = tape.gradient(loss, model.trainable_weights());
          accuracy.update_state(batch.y, logits);
        }
        optimizer.apply_gradients(grads, model.trainable_weights());
        if (step % 100 == 0) std::printf("step %d: loss = %.4f\n", step, loss.item<float>());
        ++step;
      }
      std::printf("training accuracy over epoch %d: %.4f\n", epoch, accuracy.result());
      accuracy.reset_state();
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "custom_training_loop: %s\n", e.what());
    return 1;
  }
}
