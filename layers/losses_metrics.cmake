# Losses and metrics sources, relative to layers/ (included by layers/CMakeLists.txt).
set(LAMINA_LOSSES_METRICS_SOURCES
  losses/losses.cpp
  metrics/metrics.cpp
)
