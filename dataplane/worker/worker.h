// The worker lcore's run-to-completion loop.
#pragma once

namespace meshplane::dataplane {

// rte_eal_remote_launch entry point; `arg` is this worker's WorkerCtx.
int worker_main(void* arg);

}  // namespace meshplane::dataplane
