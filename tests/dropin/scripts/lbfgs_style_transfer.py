"""Neural style transfer as torch's tutorial writes it (Gatys et al.): L-BFGS optimises the
input image itself through a closure that clamps it, runs the model and adds content and style
(Gram matrix) losses inserted after chosen layers. A small fixed convolutional network stands
in for VGG-19 and generated patterns for the photos."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

rng = np.random.default_rng(0)
imsize = 16
grid = np.linspace(0, 1, imsize)


def pattern(fx, fy, phase):
    img = np.stack([0.5 + 0.5 * np.sin(2 * np.pi * (fx * grid[None, :] + fy * grid[:, None]) + p)
                    for p in phase])
    return torch.tensor(img[None].astype(np.float32))


style_img = pattern(3.0, 1.0, [0.0, 1.0, 2.0])
content_img = pattern(0.5, 0.8, [0.3, 0.1, 1.2])


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()

    def forward(self, input):
        self.loss = F.mse_loss(input, self.target)
        return input


def gram_matrix(input):
    a, b, c, d = input.size()
    features = input.view(a * b, c * d)
    G = torch.mm(features, features.t())
    return G.div(a * b * c * d)


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        self.target = gram_matrix(target_feature).detach()

    def forward(self, input):
        G = gram_matrix(input)
        self.loss = F.mse_loss(G, self.target)
        return input


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                    nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(),
                    nn.Conv2d(12, 12, 3, padding=1))
with torch.no_grad():
    for p in cnn.parameters():
        p.copy_(torch.tensor(0.3 * rng.standard_normal(tuple(p.shape)).astype(np.float32)))
cnn.eval()
cnn_normalization_mean = [0.485, 0.456, 0.406]
cnn_normalization_std = [0.229, 0.224, 0.225]
content_layers_default = ["conv_3"]
style_layers_default = ["conv_1", "conv_2", "conv_3", "conv_4"]


def get_style_model_and_losses(cnn, normalization_mean, normalization_std, style_img,
                               content_img, content_layers=content_layers_default,
                               style_layers=style_layers_default):
    normalization = Normalization(normalization_mean, normalization_std)
    content_losses, style_losses = [], []
    model = nn.Sequential(normalization)
    i = 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv_{i}"
        elif isinstance(layer, nn.ReLU):
            name = f"relu_{i}"
            layer = nn.ReLU(inplace=False)
        elif isinstance(layer, nn.MaxPool2d):
            name = f"pool_{i}"
        else:
            raise RuntimeError(f"Unrecognized layer: {layer.__class__.__name__}")
        model.add_module(name, layer)
        if name in content_layers:
            target = model(content_img).detach()
            content_loss = ContentLoss(target)
            model.add_module(f"content_loss_{i}", content_loss)
            content_losses.append(content_loss)
        if name in style_layers:
            target_feature = model(style_img).detach()
            style_loss = StyleLoss(target_feature)
            model.add_module(f"style_loss_{i}", style_loss)
            style_losses.append(style_loss)
    for i in range(len(model) - 1, -1, -1):
        if isinstance(model[i], (ContentLoss, StyleLoss)):
            break
    model = model[:(i + 1)]
    return model, style_losses, content_losses


def get_input_optimizer(input_img, **kwargs):
    optimizer = optim.LBFGS([input_img], **kwargs)
    return optimizer


def run_style_transfer(cnn, normalization_mean, normalization_std, content_img, style_img,
                       input_img, num_steps=30, style_weight=1000, content_weight=1,
                       **lbfgs_kwargs):
    print("Building the style transfer model..")
    model, style_losses, content_losses = get_style_model_and_losses(
        cnn, normalization_mean, normalization_std, style_img, content_img)
    input_img.requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = get_input_optimizer(input_img, **lbfgs_kwargs)
    print("Optimizing..")
    run = [0]
    while run[0] <= num_steps:
        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = 0
            content_score = 0
            for sl in style_losses:
                style_score += sl.loss
            for cl in content_losses:
                content_score += cl.loss
            style_score *= style_weight
            content_score *= content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            if run[0] % 10 == 0:
                print(f"run [{run[0]}]: Style Loss : {style_score.item():4f} "
                      f"Content Loss: {content_score.item():4f}")
            return style_score + content_score

        optimizer.step(closure)
    with torch.no_grad():
        input_img.clamp_(0, 1)
    return input_img, optimizer


input_img = content_img.clone()
output, optimizer = run_style_transfer(cnn, cnn_normalization_mean, cnn_normalization_std,
                                       content_img, style_img, input_img, num_steps=20,
                                       max_iter=15)
print("output", tuple(output.shape), f"mean {output.mean().item():.4f}",
      f"std {output.std().item():.4f}")
state = optimizer.state_dict()["state"][0]
print("lbfgs func_evals", state["func_evals"], "n_iter", state["n_iter"],
      "history", len(state["old_dirs"]))

# the same with the strong Wolfe line search and a short history
input_img = content_img.clone()
output, optimizer = run_style_transfer(cnn, cnn_normalization_mean, cnn_normalization_std,
                                       content_img, style_img, input_img, num_steps=20,
                                       line_search_fn="strong_wolfe", history_size=5)
print("strong_wolfe output", f"mean {output.mean().item():.4f}")
