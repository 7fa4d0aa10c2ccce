def build_scale(physicians, institutions, batch, echo):
    raise NotImplementedError
