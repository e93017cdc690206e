"""Analysis of one frame: faces, tracker, quality gate, model and inference, scoring; the Analyzer."""
