// every word the explorer shows, in English and Vietnamese. `strings(lang)` picks a language
// ("vi…" → Vietnamese, else English); `number(lang)` formats numbers for it.

const EN = {
  hLabel: 'hidden state h: a token or an expression',
  hHelp: 'a token (" Paris" with its leading space), #id, or king - man + woman',
  scale: ['‖h‖ scale', 'multiplies h: longer h sharpens the softmax'],
  mix: ['mix toward', 'h ← (1 − t)·h + t·v(other token)'],
  noise: ['noise σ', 'adds seeded Gaussian noise to every component of h'],
  temperature: ['temperature T', 'p = softmax(z / T); T = 0 puts all mass on the arg-max'],
  mixWith: 'token to mix toward',
  target: 'target token for the loss',
  lr: 'learning rate',
  seed: 'seed',
  reroll: 're-roll',
  rerollTitle: 'new noise seed',
  coeffs: 'h along the top singular directions (offsets a_k: h ← h + Σ a_k v_k)',
  coeffLabel: (k) => `offset along singular direction ${k}`,
  step: 'Step', play: 'Play', pause: 'Pause', reset: 'Reset',
  targetWord: 'target', lrWord: 'lr',
  argmax: '0 (arg-max)',
  topTokens: 'Top tokens',
  tableCaption: (n, t, h, norm) => `Top ${n} by logit at T = ${t} (entropy ${h} nats, ‖h‖ = ${norm})`,
  tableHead: ['#', 'token', 'id', 'logit z', 'p', '‖v‖', 'cos θ', 'cos rank'],
  cosCaption: 'Top by cos θ, with each token\'s rank by logit (how far the norm moves it)',
  cosHead: ['#', 'token', 'cos θ', 'logit rank', 'moved'],
  same: (top, cos) => `The top logit, ${top}, is also the token h points at most directly (cos θ = ${cos}).`,
  differs: (top, norm, best, cos, rank) => `${top} has the top logit because its vector is long (‖v‖ = ${norm}), while ${best} points most directly along h (cos θ = ${cos}) and ranks #${rank} by logit.`,
  targetInfo: (tok, p, rank, crank, loss, grad, steps) => `target ${tok}: p = ${p}, rank ${rank} by logit (${crank} by cosine), loss ${loss}${grad}; ${steps} step${steps === 1 ? '' : 's'} taken`,
  gradNorm: (g) => `, ‖∇L‖ = ${g}`,
  pickTarget: 'Pick a target token to see the loss and take gradient steps.',
  formula: (tok, n, h, c, z, p, t) => `${tok}: z = ‖v‖ × ‖h‖ × cos θ = ${n} × ${h} × ${c} = ${z};  p = softmax(z / T) = ${p} at T = ${t}`,
  direction: (k, s, c, sc, e) => `direction ${k}: σ = ${s}, c = ${c}, σ·c = ${sc}; first ${k} carry ${e}% of ‖E‖²`,
  chart: (name) => `${name} chart`,
  loading: 'loading the model…',
  loadingPct: (p) => `loading the model… ${p}%`,
  loadFailed: (m) => `could not load the model: ${m} `,
  retry: 'Retry',
  explain: {
    topk: 'The model scores every token with z_i = v_i · h and turns the scores into probabilities with a softmax. Only the top of the list is shown; the rest of the vocabulary shares what is left.',
    cosnorm: 'Each dot is one token: how well it points along h (cos θ) against how long its vector is (‖v‖). Since z = ‖v‖·‖h‖·cos θ, tokens on one curve get the same logit: a long vector at a worse angle can beat the token h points at.',
    spectrum: 'E = U Σ Vᵀ. The singular values σ_k say how much E stretches each direction; the first is far larger than the rest, so whatever part of h lies along v₁ dominates every logit. The orange bars show h in that basis: σ_k·c_k with c = Vᵀh.',
    loss: 'Cross-entropy L = −log p(target). Its gradient ∇L = Σ p_i v_i − v_true pulls h toward the target\'s embedding and pushes it away from what the model currently expects. Step moves h by −lr·∇L.',
  },
};

const VI = {
  hLabel: 'trạng thái ẩn h: một token hoặc một biểu thức',
  hHelp: 'một token (" Paris" có dấu cách ở đầu), #id, hoặc king - man + woman',
  scale: ['độ dài ‖h‖', 'nhân h với một hệ số: h càng dài thì softmax càng nhọn'],
  mix: ['trộn với', 'h ← (1 − t)·h + t·v(token khác)'],
  noise: ['nhiễu σ', 'cộng nhiễu Gauss (có seed) vào mọi thành phần của h'],
  temperature: ['nhiệt độ T', 'p = softmax(z / T); T = 0 dồn toàn bộ xác suất vào arg-max'],
  mixWith: 'token để trộn',
  target: 'token đích cho hàm mất mát',
  lr: 'tốc độ học',
  seed: 'seed',
  reroll: 'đổi nhiễu',
  rerollTitle: 'seed nhiễu mới',
  coeffs: 'h theo các hướng kỳ dị đầu tiên (độ lệch a_k: h ← h + Σ a_k v_k)',
  coeffLabel: (k) => `độ lệch theo hướng kỳ dị ${k}`,
  step: 'Bước', play: 'Chạy', pause: 'Dừng', reset: 'Đặt lại',
  targetWord: 'token đích', lrWord: 'lr',
  argmax: '0 (arg-max)',
  topTokens: 'Các token đứng đầu',
  tableCaption: (n, t, h, norm) => `${n} token có logit cao nhất ở T = ${t} (entropy ${h} nat, ‖h‖ = ${norm})`,
  tableHead: ['#', 'token', 'id', 'logit z', 'p', '‖v‖', 'cos θ', 'hạng cos'],
  cosCaption: 'Xếp theo cos θ, kèm hạng theo logit của từng token (chuẩn ‖v‖ đẩy nó đi bao xa)',
  cosHead: ['#', 'token', 'cos θ', 'hạng logit', 'dịch chuyển'],
  same: (top, cos) => `Token có logit cao nhất, ${top}, cũng là token mà h hướng tới trực tiếp nhất (cos θ = ${cos}).`,
  differs: (top, norm, best, cos, rank) => `${top} có logit cao nhất vì vector của nó dài (‖v‖ = ${norm}), trong khi ${best} cùng hướng với h nhất (cos θ = ${cos}) nhưng chỉ đứng thứ ${rank} theo logit.`,
  targetInfo: (tok, p, rank, crank, loss, grad, steps) => `token đích ${tok}: p = ${p}, hạng ${rank} theo logit (${crank} theo cosine), mất mát ${loss}${grad}; đã đi ${steps} bước`,
  gradNorm: (g) => `, ‖∇L‖ = ${g}`,
  pickTarget: 'Chọn một token đích để xem hàm mất mát và đi các bước gradient.',
  formula: (tok, n, h, c, z, p, t) => `${tok}: z = ‖v‖ × ‖h‖ × cos θ = ${n} × ${h} × ${c} = ${z};  p = softmax(z / T) = ${p} ở T = ${t}`,
  direction: (k, s, c, sc, e) => `hướng ${k}: σ = ${s}, c = ${c}, σ·c = ${sc}; ${k} hướng đầu chứa ${e}% của ‖E‖²`,
  chart: (name) => `biểu đồ ${name}`,
  loading: 'đang tải mô hình…',
  loadingPct: (p) => `đang tải mô hình… ${p}%`,
  loadFailed: (m) => `không tải được mô hình: ${m} `,
  retry: 'Thử lại',
  explain: {
    topk: 'Mô hình chấm điểm mọi token bằng z_i = v_i · h rồi biến điểm thành xác suất bằng softmax. Chỉ phần đầu danh sách được hiển thị; phần còn lại của bộ từ vựng chia nhau phần xác suất còn lại.',
    cosnorm: 'Mỗi chấm là một token: nó cùng hướng với h đến đâu (cos θ) so với vector của nó dài bao nhiêu (‖v‖). Vì z = ‖v‖·‖h‖·cos θ, các token trên cùng một đường cong có cùng logit: một vector dài với góc kém hơn vẫn có thể thắng token mà h hướng tới.',
    spectrum: 'E = U Σ Vᵀ. Các giá trị kỳ dị σ_k cho biết E kéo giãn mỗi hướng bao nhiêu; giá trị đầu tiên lớn hơn hẳn phần còn lại, nên phần của h nằm theo v₁ chi phối mọi logit. Các vạch cam là h trong cơ sở đó: σ_k·c_k với c = Vᵀh.',
    loss: 'Cross-entropy L = −log p(token đích). Gradient ∇L = Σ p_i v_i − v_true kéo h về phía embedding của token đích và đẩy nó ra xa những gì mô hình đang kỳ vọng. Mỗi Bước dịch h một đoạn −lr·∇L.',
  },
};

export function strings(lang) {
  return /^vi\b/i.test(lang ?? '') ? VI : EN;
}

/** fixed-digit numbers in the language's style (a decimal comma in Vietnamese). */
export function number(lang) {
  const vi = /^vi\b/i.test(lang ?? '');
  return (x, d = 3) => {
    if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
    const s = x.toFixed(d);
    return vi ? s.replace('.', ',') : s;
  };
}
