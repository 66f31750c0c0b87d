"""ember.explain: what each layer does, shown to people - computed by ember's own layers.

* :func:`explain_size` - a layer's output shape with every formula written out
  (``H_out = floor((512 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 510``), errors in words;
* :func:`summary` - a model layer by layer: output shapes, parameters, multiply-adds;
* :func:`explain_matrix` / :func:`conv_matrix` - convolution as a matrix ``C``, and the
  transposed convolution as ``C.T``;
* :func:`animate` - GIFs of the window sliding over the input (convolution, transposed
  convolution, max/avg pooling, max-unpooling);
* :func:`plot_activation` - an activation and its derivative (by ember's autograd);
* :func:`feature_maps` - a photo through random 3x3 filters, ReLU and pooling;
* :func:`checkerboard` - why a stride-2 transposed convolution makes checkerboards;
* :func:`receptive_field` - how many input pixels each layer's outputs see (size, jump, start);
* :func:`build_report` / :func:`write_report` - one offline HTML page about a model.

The same tools are on the command line as ``ember explain ...``. Plots and GIFs need
matplotlib and Pillow: ``pip install 'ember[explain]'``; they are imported only when used.
"""
from .animate import ANIMATED_OPS, Animation, animate, build_scene  # noqa: F401
from .checkerboard import Checkerboard, checkerboard, checkerboard_figure  # noqa: F401
from .curves import (ACTIVATIONS, activation_curve, activation_figure, plot_activation,  # noqa: F401
                     plot_all_activations)
from .features import BUNDLED_IMAGE, feature_maps, features_figure, load_image  # noqa: F401
from .receptive import Field, LayerField, receptive_field  # noqa: F401
from .report import Report, build_report, report_html, write_report  # noqa: F401
from .matrix import (MatrixReport, conv_matrix, conv_matrix_by_probing, explain_matrix,  # noqa: F401
                     matrix_figure)
from .sizes import OPS, SizeError, SizeReport, explain_size  # noqa: F401
from .summary import MODELS, Summary, explain_module, load_model, summary  # noqa: F401

__all__ = ["explain_size", "SizeReport", "SizeError", "OPS", "summary", "Summary", "explain_module",
           "load_model", "MODELS", "conv_matrix", "conv_matrix_by_probing", "explain_matrix",
           "MatrixReport", "matrix_figure", "animate", "Animation", "build_scene", "ANIMATED_OPS",
           "activation_curve", "activation_figure", "plot_activation", "plot_all_activations",
           "ACTIVATIONS", "feature_maps", "features_figure", "load_image", "BUNDLED_IMAGE",
           "checkerboard", "Checkerboard", "checkerboard_figure", "receptive_field", "Field",
           "LayerField", "build_report", "write_report", "report_html", "Report"]
