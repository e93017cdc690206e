from streamer.cluster.placers import gpu_workers_note


def test_stream_workers_sharing_a_gpu_are_warned_of_what_was_measured():
    note = gpu_workers_note(4, "CUDAExecutionProvider")
    assert note and "4 stream worker processes" in note and "without --stream-workers" in note.lower()
    assert gpu_workers_note(4, "CPUExecutionProvider") is None  # on the CPU, workers are the measured way past the GIL
    assert gpu_workers_note(1, "CUDAExecutionProvider") is None  # one process: one CUDA session
