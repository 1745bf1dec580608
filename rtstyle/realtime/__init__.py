"""Real-time paths: the webcam loop and video conversion, built on `rtstyle.engine.Stylizer`."""
