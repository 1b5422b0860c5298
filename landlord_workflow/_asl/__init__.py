"""Engine-neutral Amazon States Language: structure checks shared by every ASL engine."""
