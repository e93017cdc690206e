"""Analysis of one frame: face detection, tracking, the quality gate, the model and its inference, scoring; the Analyzer."""
