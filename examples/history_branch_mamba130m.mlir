// The whole history branch of one step at mamba-130m's sizes
// (Hd 768, D 1536, N 16, R 48, W 4), f32 storage, T tokens and a pool of
// any number of slots. hssm-run compiles this by default.
func.func @history_branch(
    %x: memref<?x768xf32>, %w_in: memref<3072x768xf32>,
    %conv_w: memref<1536x4xf32>, %conv_b: memref<1536xf32>,
    %w_x: memref<80x1536xf32>, %w_dt: memref<1536x48xf32>,
    %b_dt: memref<1536xf32>, %A: memref<1536x16xf32>, %D: memref<1536xf32>,
    %w_out: memref<768x1536xf32>,
    %conv_state: memref<?x3x1536xf32>, %ssm_state: memref<?x1536x16xf32>,
    %qsl: memref<?xi32>, %slots: memref<?xi32>, %dst: memref<?xi32>,
    %init: memref<?xi8>, %num_decodes: index, %num_prefills: index,
    %num_prefill_tokens: index, %out: memref<?x768xf32>) {
  %batch = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%slots : memref<?xi32>)
      dst_state_indices(%dst : memref<?xi32>)
      has_initial_state(%init : memref<?xi8>)
      decodes(%num_decodes, %num_decodes)
      prefills(%num_prefills, %num_prefill_tokens)
  hssm.history_branch <mamba1> x(%x : memref<?x768xf32>)
      in_proj(%w_in : memref<3072x768xf32>)
      conv(%conv_w : memref<1536x4xf32>, %conv_b : memref<1536xf32>)
      x_proj(%w_x : memref<80x1536xf32>)
      dt_proj(%w_dt : memref<1536x48xf32>, %b_dt : memref<1536xf32>)
      A(%A : memref<1536x16xf32>) D(%D : memref<1536xf32>)
      out_proj(%w_out : memref<768x1536xf32>)
      state(%conv_state : memref<?x3x1536xf32>,
            %ssm_state : memref<?x1536x16xf32>)
      batch(%batch) out(%out : memref<?x768xf32>)
  return
}
